package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleAt(t *testing.T) {
	const lr, minLR = 1e-3, 1e-4
	cosine := Schedule{Decay: DecayCosine, LR: lr, MinLR: minLR, WarmupSteps: 100, TotalSteps: 1100}
	linear := cosine
	linear.Decay = DecayLinear
	constant := Schedule{Decay: DecayConstant, LR: lr, WarmupSteps: 100}
	noWarmup := Schedule{Decay: DecayCosine, LR: lr, TotalSteps: 10}
	quarterCos := minLR + (lr-minLR)*0.5*(1+math.Cos(math.Pi/4)) // 8.682e-4
	for _, tc := range []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"cosine start", cosine, 0, 0},
		{"cosine negative step", cosine, -5, 0},
		{"cosine mid-warmup", cosine, 50, lr / 2},
		{"cosine last warmup step", cosine, 99, lr * 0.99},
		{"cosine end of warmup", cosine, 100, lr},
		{"cosine quarter", cosine, 350, quarterCos},
		{"cosine mid", cosine, 600, (lr + minLR) / 2},
		{"cosine end", cosine, 1100, minLR},
		{"cosine past end", cosine, 5000, minLR},
		{"linear start", linear, 0, 0},
		{"linear end of warmup", linear, 100, lr},
		{"linear quarter", linear, 350, minLR + (lr-minLR)*0.75},
		{"linear mid", linear, 600, (lr + minLR) / 2},
		{"linear end", linear, 1100, minLR},
		{"linear past end", linear, 1101, minLR},
		{"constant start", constant, 0, 0},
		{"constant mid-warmup", constant, 25, lr / 4},
		{"constant end of warmup", constant, 100, lr},
		{"constant late", constant, 1 << 40, lr},
		{"no warmup start", noWarmup, 0, lr},
		{"no warmup mid", noWarmup, 5, lr / 2},
		{"no warmup end", noWarmup, 10, 0},
	} {
		if got := tc.s.At(tc.step); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: At(%d) = %.17g, want %.17g", tc.name, tc.step, got, tc.want)
		}
	}
}

// TestScheduleIsMonotone: warmup never falls and decay never rises.
func TestScheduleIsMonotone(t *testing.T) {
	for _, d := range []Decay{DecayCosine, DecayLinear, DecayConstant} {
		s := Schedule{Decay: d, LR: 3e-4, MinLR: 3e-5, WarmupSteps: 20, TotalSteps: 200}
		for step := 1; step <= 220; step++ {
			prev, cur := s.At(step-1), s.At(step)
			if step <= s.WarmupSteps && cur <= prev || step > s.WarmupSteps && cur > prev {
				t.Fatalf("%s: At(%d) = %v after At(%d) = %v", d, step, cur, step-1, prev)
			}
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	good := Schedule{Decay: DecayCosine, LR: 1e-3, MinLR: 1e-4, WarmupSteps: 10, TotalSteps: 100}
	for _, tc := range []struct {
		name string
		mod  func(*Schedule)
		want string // "" for valid
	}{
		{"valid", func(*Schedule) {}, ""},
		{"constant needs no total", func(s *Schedule) { s.Decay, s.TotalSteps = DecayConstant, 0 }, ""},
		{"unknown decay", func(s *Schedule) { s.Decay = "exponential" }, `unknown decay "exponential"`},
		{"empty decay", func(s *Schedule) { s.Decay = "" }, "unknown decay"},
		{"negative lr", func(s *Schedule) { s.LR = -1 }, "lr -1"},
		{"min above peak", func(s *Schedule) { s.MinLR = 1e-2 }, "min lr"},
		{"negative warmup", func(s *Schedule) { s.WarmupSteps = -1 }, "warmup steps -1"},
		{"total within warmup", func(s *Schedule) { s.TotalSteps = 10 }, "total steps 10 must exceed warmup steps 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			err := s.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestFitWarmup: a warmup of the whole run or more becomes a tenth of it, which every decay then
// accepts; a warmup that ends before the run is kept.
func TestFitWarmup(t *testing.T) {
	for _, tc := range []struct {
		warmup, total, want int
		changed             bool
	}{
		{30, 30, 3, true},
		{30, 10, 1, true},
		{100, 2000, 100, false},
		{29, 30, 29, false},
		{5, 1, 0, true},
		{9, 9, 0, true},
		{0, 0, 0, false},
	} {
		for _, d := range []Decay{DecayCosine, DecayLinear, DecayConstant} {
			s := Schedule{Decay: d, LR: 1e-3, MinLR: 1e-4, WarmupSteps: tc.warmup, TotalSteps: tc.total}
			got, changed := s.FitWarmup()
			if got.WarmupSteps != tc.want || changed != tc.changed {
				t.Errorf("%s warmup %d of %d: got %d, %v; want %d, %v", d, tc.warmup, tc.total, got.WarmupSteps, changed, tc.want, tc.changed)
			}
			got.WarmupSteps = s.WarmupSteps
			if got != s {
				t.Errorf("%s: FitWarmup changed more than the warmup: %+v", d, got)
			}
			if s, _ := s.FitWarmup(); tc.total > 0 && s.Validate() != nil {
				t.Errorf("%s warmup %d of %d: fitted schedule invalid: %v", d, tc.warmup, tc.total, s.Validate())
			}
		}
	}
}

// Mutations caught: dropping the quiet bit (| 0x0040) in toBF16One makes
// TestToBF16Specials fail on the signalling NaNs; dropping its subnormal flush
// fails it on 0x007fffff; rounding ties up instead of to even (no (b>>16)&1)
// fails the tie cases; in bf16_amd64.s, swapping VCVTNE2PS2BF16's sources
// makes TestBF16KernelsMatchReference fail; removing ROUND16's NaN or
// subnormal fix-up fails it for the avx512 kernel; dropping a kernel's masked
// tail (JMP instead of JZ to done) fails TestBF16KernelLengths; an unmasked
// store of FromBF16's last n%16 floats fails its guard check.
package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// bf16Specials are float32 bit patterns and their bfloat16 under ToBF16's
// documented rules, worked out by hand.
var bf16Specials = []struct {
	in   uint32
	want BF16
	what string
}{
	{0x00000000, 0x0000, "+0"},
	{0x80000000, 0x8000, "-0"},
	{0x7f800000, 0x7f80, "+Inf"},
	{0xff800000, 0xff80, "-Inf"},
	{0x7fc00000, 0x7fc0, "quiet NaN"},
	{0x7fc12345, 0x7fc1, "quiet NaN with payload"},
	{0xffc00001, 0xffc0, "negative quiet NaN, payload in dropped bits"},
	{0x7fffffff, 0x7fff, "NaN, all payload bits"},
	{0x7f800001, 0x7fc0, "signalling NaN, payload only in dropped bits"},
	{0x7fa00000, 0x7fe0, "signalling NaN with payload"},
	{0xff812345, 0xffc1, "negative signalling NaN"},
	{0x7f7fffff, 0x7f80, "largest finite float32 rounds to +Inf"},
	{0xff7fffff, 0xff80, "most negative finite float32 rounds to -Inf"},
	{0x7f7f0000, 0x7f7f, "largest finite bfloat16"},
	{0x7f7f7fff, 0x7f7f, "just below half past the largest finite"},
	{0x7f7f8000, 0x7f80, "halfway past the largest finite: odd, up to +Inf"},
	{0xff7f8000, 0xff80, "halfway past the most negative: odd, down to -Inf"},
	{0x3f808000, 0x3f80, "tie above 1, even: kept"},
	{0x3f818000, 0x3f82, "tie above 1+2^-7, odd: up"},
	{0xbf808000, 0xbf80, "negative tie, even: kept"},
	{0xbf818000, 0xbf82, "negative tie, odd: away from zero"},
	{0x3f808001, 0x3f81, "just above a tie"},
	{0x3f807fff, 0x3f80, "just below a tie"},
	{0x3fffffff, 0x4000, "carry into the exponent"},
	{0x3f800000, 0x3f80, "1"},
	{0x00800000, 0x0080, "smallest normal"},
	{0x00808000, 0x0080, "tie above the smallest normal, even"},
	{0x0080ffff, 0x0081, "above the smallest normal"},
	{0x80800000, 0x8080, "negative smallest normal"},
	{0x00000001, 0x0000, "smallest subnormal flushed"},
	{0x007fffff, 0x0000, "largest subnormal flushed, not rounded up"},
	{0x00400000, 0x0000, "subnormal flushed"},
	{0x807fffff, 0x8000, "negative subnormal flushed to -0"},
	{0x80000001, 0x8000, "negative smallest subnormal flushed to -0"},
}

func bf16SpecialInputs() []float32 {
	in := make([]float32, len(bf16Specials))
	for i, c := range bf16Specials {
		in[i] = math.Float32frombits(c.in)
	}
	return in
}

func TestToBF16Specials(t *testing.T) {
	in := bf16SpecialInputs()
	got := make([]BF16, len(in))
	toBF16Ref(got, in)
	for i, c := range bf16Specials {
		if got[i] != c.want {
			t.Errorf("toBF16Ref(%#08x, %s) = %#04x, want %#04x", c.in, c.what, got[i], c.want)
		}
	}
	ToBF16(got, in)
	for i, c := range bf16Specials {
		if got[i] != c.want {
			t.Errorf("ToBF16(%#08x, %s) with the %s kernel = %#04x, want %#04x", c.in, c.what, BF16Kernel(), got[i], c.want)
		}
	}
}

// TestToBF16RefNearest checks the reference against a float64 rounding of
// random normal values: the nearest bfloat16, ties to the even one.
func TestToBF16RefNearest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		b := r.Uint32()
		if e := b & 0x7f800000; e == 0 || e == 0x7f800000 {
			continue
		}
		got := toBF16One(math.Float32frombits(b))
		x := float64(math.Float32frombits(b))
		lo := BF16(b >> 16)
		hi := lo + 1
		dl := math.Abs(x - bf16Unbounded(lo))
		dh := math.Abs(bf16Unbounded(hi) - x)
		want := lo
		if dh < dl || (dh == dl && lo&1 == 1) {
			want = hi
		}
		if got != want {
			t.Fatalf("toBF16One(%#08x) = %#04x, want %#04x", b, got, want)
		}
	}
}

// bf16Unbounded is h's value as if the exponent had no upper limit: ±Inf
// stands for ±2^128, the next value after the largest finite, so that
// rounding to nearest rounds past it to Inf.
func bf16Unbounded(h BF16) float64 {
	if h&0x7fff == 0x7f80 {
		return math.Copysign(math.Ldexp(1, 128), float64(math.Float32frombits(uint32(h)<<16)))
	}
	return float64(math.Float32frombits(uint32(h) << 16))
}

// bf16Levels are the kernel levels a subtest each; levels the CPU lacks are
// skipped with a message saying so.
var bf16Levels = []bf16Level{bf16Go, bf16AVX512, bf16AVX512BF16}

// forEachBF16Level runs f for each level the CPU supports, skipping (and
// saying so) the others.
func forEachBF16Level(t *testing.T, f func(t *testing.T, l bf16Level)) {
	for _, l := range bf16Levels {
		t.Run(l.String(), func(t *testing.T) {
			if !bf16Supported(l) {
				t.Logf("this CPU lacks the instructions of the %s kernel (using %s): the fast kernel was skipped; the reference is still tested", l, BF16Kernel())
				t.Skip("kernel " + l.String() + " not supported on this CPU")
			}
			f(t, l)
		})
	}
}

// toBF16Level converts src with level l's kernel, finishing with the
// reference where the kernel stops, as ToBF16 does.
func toBF16Level(l bf16Level, dst []BF16, src []float32) {
	n := toBF16With(l, dst, src)
	toBF16Ref(dst[n:], src[n:])
}

func fromBF16Level(l bf16Level, dst []float32, src []BF16) {
	n := fromBF16With(l, dst, src)
	fromBF16Ref(dst[n:], src[n:])
}

func checkBF16Same(t *testing.T, what string, src []float32, got, want []BF16) {
	t.Helper()
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("%s: element %d of %d: %#08x -> %#04x, reference %#04x",
					what, i, len(want), math.Float32bits(src[i]), got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(want))
	}
}

func TestBF16KernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]float32, 1_000_000)
	for i := range random {
		random[i] = math.Float32frombits(r.Uint32())
	}
	specials := bf16SpecialInputs()
	// Every special in every lane position of a 32-float iteration.
	lanes := make([]float32, 0, 64*len(specials))
	for _, s := range specials {
		for k := range 64 {
			lanes = append(lanes, math.Float32frombits(uint32(k)*0x01000000))
			if k%2 == 0 {
				lanes[len(lanes)-1] = s
			}
		}
	}
	forEachBF16Level(t, func(t *testing.T, l bf16Level) {
		for _, in := range []struct {
			name string
			src  []float32
		}{{"specials", specials}, {"specials in every lane", lanes}, {"1e6 random bit patterns", random}} {
			got := make([]BF16, len(in.src))
			want := make([]BF16, len(in.src))
			toBF16Level(l, got, in.src)
			toBF16Ref(want, in.src)
			checkBF16Same(t, l.String()+" "+in.name, in.src, got, want)
		}
	})
}

// TestBF16KernelLengths runs every length 0..70 at an unaligned start and
// checks the words and floats just past the end are untouched.
func TestBF16KernelLengths(t *testing.T) {
	const guard = 40
	r := rand.New(rand.NewPCG(5, 6))
	forEachBF16Level(t, func(t *testing.T, l bf16Level) {
		for n := 0; n <= 70; n++ {
			src := make([]float32, 1+n+guard)
			for i := range src {
				src[i] = math.Float32frombits(r.Uint32())
			}
			dst := make([]BF16, 1+n+guard)
			for i := range dst {
				dst[i] = 0xdead
			}
			want := make([]BF16, n)
			toBF16Ref(want, src[1:1+n])
			toBF16Level(l, dst[1:1+n], src[1:1+n])
			checkBF16Same(t, fmt.Sprintf("%s ToBF16 length %d", l, n), src[1:1+n], dst[1:1+n], want)
			for i, v := range dst {
				if (i == 0 || i > n) && v != 0xdead {
					t.Fatalf("%s ToBF16 length %d wrote element %d outside dst", l, n, i-1)
				}
			}

			hsrc := make([]BF16, 1+n+guard)
			for i := range hsrc {
				hsrc[i] = BF16(r.Uint32())
			}
			out := make([]float32, 1+n+guard)
			for i := range out {
				out[i] = -7
			}
			fromBF16Level(l, out[1:1+n], hsrc[1:1+n])
			for i, v := range out {
				switch {
				case i == 0 || i > n:
					if v != -7 {
						t.Fatalf("%s FromBF16 length %d wrote element %d outside dst", l, n, i-1)
					}
				case math.Float32bits(v) != uint32(hsrc[i])<<16:
					t.Fatalf("%s FromBF16 length %d: element %d of %#04x = %#08x, want %#08x",
						l, n, i-1, hsrc[i], math.Float32bits(v), uint32(hsrc[i])<<16)
				}
			}
		}
	})
}

// TestFromBF16AllValues widens all 65536 bfloat16 and rounds them back:
// widening is exact and every non-subnormal survives the round trip (NaNs
// come back quiet, as they all are after widening a quiet NaN).
func TestFromBF16AllValues(t *testing.T) {
	src := make([]BF16, 1<<16)
	for i := range src {
		src[i] = BF16(i)
	}
	forEachBF16Level(t, func(t *testing.T, l bf16Level) {
		wide := make([]float32, len(src))
		fromBF16Level(l, wide, src)
		for i, v := range wide {
			if math.Float32bits(v) != uint32(i)<<16 {
				t.Fatalf("%s: FromBF16(%#04x) = %#08x, want %#08x", l, i, math.Float32bits(v), uint32(i)<<16)
			}
		}
		back := make([]BF16, len(src))
		toBF16Level(l, back, wide)
		for i, b := range back {
			want := BF16(i)
			switch e := want & 0x7f80; {
			case e == 0:
				want &= 0x8000 // subnormals flush
			case e == 0x7f80 && want&0x7f != 0:
				want |= 0x40 // NaNs are made quiet
			}
			if b != want {
				t.Fatalf("%s: ToBF16(FromBF16(%#04x)) = %#04x, want %#04x", l, i, b, want)
			}
		}
	})
}

func TestBF16Kernel(t *testing.T) {
	name := BF16Kernel()
	t.Logf("bf16 kernel on this CPU: %s", name)
	switch {
	case bf16Supported(bf16AVX512BF16):
		if name != "avx512bf16" {
			t.Fatalf("BF16Kernel() = %q on a CPU with AVX512-BF16, want avx512bf16", name)
		}
	case bf16Supported(bf16AVX512):
		if name != "avx512" {
			t.Fatalf("BF16Kernel() = %q on a CPU with AVX-512 but no AVX512-BF16, want avx512", name)
		}
	case name != "go":
		t.Fatalf("BF16Kernel() = %q on a CPU without AVX-512, want go", name)
	}
}

func TestBF16LengthMismatchPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"ToBF16", func() { ToBF16(make([]BF16, 3), make([]float32, 4)) }},
		{"FromBF16", func() { FromBF16(make([]float32, 5), make([]BF16, 4)) }},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.name) || !strings.Contains(msg, "equal length") {
					t.Errorf("%s with unequal lengths: panic %q, want one naming %s and equal length", c.name, msg, c.name)
				}
			}()
			c.f()
		}()
	}
}

const bf16BenchN = 1 << 20

func BenchmarkToBF16(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	src := make([]float32, bf16BenchN)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	dst := make([]BF16, bf16BenchN)
	b.Run("kernel="+BF16Kernel(), func(b *testing.B) {
		b.SetBytes(6 * bf16BenchN)
		for b.Loop() {
			ToBF16(dst, src)
		}
	})
	b.Run("kernel=ref", func(b *testing.B) {
		b.SetBytes(6 * bf16BenchN)
		for b.Loop() {
			toBF16Ref(dst, src)
		}
	})
	if bf16Supported(bf16AVX512BF16) {
		b.Run("kernel=avx512", func(b *testing.B) {
			b.SetBytes(6 * bf16BenchN)
			for b.Loop() {
				toBF16With(bf16AVX512, dst, src)
			}
		})
	}
}

func BenchmarkFromBF16(b *testing.B) {
	src := make([]BF16, bf16BenchN)
	for i := range src {
		src[i] = BF16(i)
	}
	dst := make([]float32, bf16BenchN)
	b.Run("kernel="+BF16Kernel(), func(b *testing.B) {
		b.SetBytes(6 * bf16BenchN)
		for b.Loop() {
			FromBF16(dst, src)
		}
	})
	b.Run("kernel=ref", func(b *testing.B) {
		b.SetBytes(6 * bf16BenchN)
		for b.Loop() {
			fromBF16Ref(dst, src)
		}
	})
}

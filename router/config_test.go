package router

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig(8, 2)
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"k equals e", func(c *Config) { c.TopK = 8 }, ""},
		{"sigmoid with bias", func(c *Config) { c.Type, c.ExpertBias, c.BiasUpdateRate = Sigmoid, true, 1e-3 }, ""},
		{"noisy", func(c *Config) { c.Type, c.NoiseStd = NoisyTopK, 1 }, ""},
		{"capacity", func(c *Config) { c.CapacityFactor = 1.25 }, ""},
		{"no experts", func(c *Config) { c.NumExperts = 0 }, "num_experts"},
		{"k zero", func(c *Config) { c.TopK = 0 }, "top_k"},
		{"k above e", func(c *Config) { c.TopK = 9 }, "top_k"},
		{"unknown type", func(c *Config) { c.Type = "softmax" }, "unknown router type"},
		{"empty type", func(c *Config) { c.Type = "" }, "unknown router type"},
		{"noisy without noise", func(c *Config) { c.Type = NoisyTopK }, "noise_std"},
		{"pre-softmax on sigmoid", func(c *Config) { c.Type, c.PreSoftmax = Sigmoid, true }, "pre_softmax"},
		{"jitter one", func(c *Config) { c.JitterEps = 1 }, "jitter_eps"},
		{"jitter negative", func(c *Config) { c.JitterEps = -0.1 }, "jitter_eps"},
		{"negative rate", func(c *Config) { c.BiasUpdateRate = -1 }, "bias_update_rate"},
		{"negative capacity", func(c *Config) { c.CapacityFactor = -1 }, "capacity_factor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tc.wantErr)
			}
			if _, err := New(cfg, 4, 0.02, rand.New(rand.NewPCG(1, 1))); err == nil {
				t.Fatalf("New accepted an invalid config")
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cfg := DefaultConfig(4, 2)
	if _, err := New(cfg, 0, 0.02, rng); err == nil {
		t.Error("New accepted model width 0")
	}
	if _, err := New(cfg, 4, -1, rng); err == nil {
		t.Error("New accepted a negative init std")
	}
	if _, err := New(cfg, 4, 0.02, nil); err == nil {
		t.Error("New accepted a nil generator")
	}
	r, err := New(Config{NumExperts: 4, TopK: 1, Type: NoisyTopK, NoiseStd: 1}, 3, 0.02, rng)
	if err != nil {
		t.Fatal(err)
	}
	ps := r.Params()
	if len(ps) != 2 || ps[0].Name != "gate" || ps[1].Name != "noise" {
		t.Fatalf("noisy router params %v, want gate and noise", ps)
	}
	for _, p := range ps {
		if got := p.Shape(); got[0] != 4 || got[1] != 3 || !p.RequiresGrad() {
			t.Fatalf("param %s shape %v requiresGrad %v, want [4 3] trainable", p.Name, got, p.RequiresGrad())
		}
	}
}

func TestCapacity(t *testing.T) {
	tests := []struct {
		cf      float64
		n, k, e int
		want    int
	}{
		{0, 100, 2, 8, 0},
		{1, 8, 2, 4, 4},
		{1.25, 2048, 2, 8, 640},
		{1.1, 10, 1, 1, 11}, // 1.1*10 = 11.000000000000002 in float64
		{1, 5, 1, 2, 3},     // ceil(2.5)
		{0.01, 1, 1, 64, 1}, // never below one slot
	}
	for _, tc := range tests {
		if got := capacity(tc.cf, tc.n, tc.k, tc.e); got != tc.want {
			t.Errorf("capacity(%v, %d, %d, %d) = %d, want %d", tc.cf, tc.n, tc.k, tc.e, got, tc.want)
		}
	}
}

func TestTypesRegistry(t *testing.T) {
	if got := Types(); !slices.Equal(got, []string{NoisyTopK, Sigmoid, TopKSoftmax}) {
		t.Fatalf("Types() = %v", got)
	}
	err := Config{NumExperts: 2, TopK: 1, Type: "expert_choice"}.Validate()
	if err == nil || !strings.Contains(err.Error(), `"expert_choice" (want noisy_topk, sigmoid or topk_softmax)`) {
		t.Fatalf("Validate = %v, want the unknown type and the registered ones", err)
	}
	// Every registered type builds a router whose parameters start with the
	// gate and which routes a batch.
	for _, name := range Types() {
		cfg := DefaultConfig(3, 2)
		cfg.Type, cfg.NoiseStd, cfg.Normalize = name, 1, name == TopKSoftmax
		r, err := New(cfg, 4, 0.1, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ps := r.Params(); ps[0].Name != "gate" {
			t.Fatalf("%s: first parameter %q, want gate", name, ps[0].Name)
		}
		rt := r.Route(autograd.NewNoGradTape(), autograd.New(autograd.Float32, 5, 4), true, rand.New(rand.NewPCG(3, 4)))
		checkTable(t, rt, 3)
	}
}

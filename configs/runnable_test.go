package configs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestCheckRunnable: a valid configuration asking for bf16 is refused by CheckRunnable, one error
// per key with the value to use; several ranks are runnable; the presets run as they are.
func TestCheckRunnable(t *testing.T) {
	for _, name := range Presets() {
		c, err := Load(LoadOptions{ConfigRef: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckRunnable(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	cases := []struct {
		sets []string
		keys []string
		fix  string
	}{
		{[]string{"train.precision=bf16"}, []string{"train.precision"}, "--set train.precision=fp32"},
	}
	for _, sets := range [][]string{{"parallel.world_size=2"}, {"parallel.backend=mpi", "parallel.world_size=8", "parallel.expert_parallel=4"}} {
		c, err := Load(LoadOptions{Sets: sets})
		if err != nil {
			t.Fatalf("%v: %v", sets, err)
		}
		if err := c.CheckRunnable(); err != nil {
			t.Errorf("%v: %v", sets, err)
		}
	}
	for _, tc := range cases {
		c, err := Load(LoadOptions{Sets: tc.sets})
		if err != nil {
			t.Fatalf("%v: %v", tc.sets, err)
		}
		var es Errors
		if err := c.CheckRunnable(); !errors.As(err, &es) {
			t.Fatalf("%v: want Errors, got %v", tc.sets, err)
		}
		if !slices.Equal(es.Keys(), tc.keys) || !strings.Contains(es.Error(), tc.fix) ||
			!strings.Contains(es.Error(), "not available in this version") {
			t.Errorf("%v: got %v", tc.sets, es)
		}
	}
}

package checkpoint

import (
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// Assign's checks. Mutations tried and the test that caught each:
//   - dropping the missing-tensor check in strict mode: TestAssignStrictRefuses/missing.
//   - refusing missing tensors in partial mode too: TestAssignPartial.
//   - copying before every check passed: TestAssignStrictRefuses (dst changed).
//   - skipping the shape check: TestAssignStrictRefuses/shape, TestAssignPartial.
//   - accepting tensors the model lacks: TestAssignStrictRefuses/extra, TestAssignPartial.

// modelTensors returns a small float32 destination: a [2, 3] weight and a
// [3] norm, filled with ones.
func modelTensors() map[string]*autograd.Tensor {
	w := autograd.New(autograd.Float32, 2, 3)
	n := autograd.New(autograd.Float32, 3)
	for _, t := range []*autograd.Tensor{w, n} {
		for i := range t.Len() {
			t.Set(i, 1)
		}
	}
	return map[string]*autograd.Tensor{"w.weight": w, "norm.weight": n}
}

func TestAssignStrictCopiesAndConverts(t *testing.T) {
	dst := modelTensors()
	src := map[string]*autograd.Tensor{
		"w.weight":    autograd.FromSlice([]float64{1, 2, 3, 4, 5, 6.5}, 2, 3),
		"norm.weight": autograd.FromSlice([]float32{-1, -2, -3}, 3),
	}
	missing, err := Assign(dst, src, "m.safetensors", AssignOptions{})
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing %v, err %v", missing, err)
	}
	if got := dst["w.weight"].F32(); got[5] != 6.5 || got[0] != 1 {
		t.Errorf("w.weight = %v", got)
	}
	if got := dst["norm.weight"].F32(); got[2] != -3 {
		t.Errorf("norm.weight = %v", got)
	}
}

func TestAssignStrictRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(src map[string]*autograd.Tensor)
		want []string
	}{
		{"missing", func(src map[string]*autograd.Tensor) { delete(src, "norm.weight") },
			[]string{"run/model.safetensors:", `tensor "norm.weight" [3] is missing`, "load it partially"}},
		{"extra", func(src map[string]*autograd.Tensor) { src["lm_head.weight"] = autograd.New(autograd.Float32, 4, 2) },
			[]string{"run/model.safetensors:", `tensor "lm_head.weight" [4 2] is not in the model`}},
		{"many extra", func(src map[string]*autograd.Tensor) {
			for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
				src[n] = autograd.New(autograd.Float32, 1)
			}
		}, []string{`6 tensors "a" [1], "b" [1], "c" [1], "d" [1] and 2 more are not in the model`}},
		{"shape", func(src map[string]*autograd.Tensor) { src["w.weight"] = autograd.New(autograd.Float32, 3, 2) },
			[]string{"run/model.safetensors:", `tensor "w.weight" has shape [3 2], the model's is [2 3]`}},
		{"nil", func(src map[string]*autograd.Tensor) { src["w.weight"] = nil },
			[]string{`tensor "w.weight" is empty`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := modelTensors()
			src := map[string]*autograd.Tensor{
				"w.weight":    autograd.New(autograd.Float32, 2, 3),
				"norm.weight": autograd.New(autograd.Float32, 3),
			}
			tc.mod(src)
			_, err := Assign(dst, src, "run/model.safetensors", AssignOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for name, d := range dst { // nothing copied
				for i := range d.Len() {
					if d.At(i) != 1 {
						t.Fatalf("%s changed by a refused load", name)
					}
				}
			}
		})
	}
}

func TestAssignPartial(t *testing.T) {
	dst := modelTensors()
	src := map[string]*autograd.Tensor{"norm.weight": autograd.FromSlice([]float32{7, 8, 9}, 3)}
	missing, err := Assign(dst, src, "adapter.safetensors", AssignOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != "w.weight" {
		t.Errorf("missing = %v, want [w.weight]", missing)
	}
	if dst["norm.weight"].At(1) != 8 || dst["w.weight"].At(0) != 1 {
		t.Errorf("after partial load: norm %v, w %v", dst["norm.weight"].F32(), dst["w.weight"].F32())
	}
	// Partial still refuses what does not fit.
	for name, bad := range map[string]*autograd.Tensor{
		"norm.weight": autograd.New(autograd.Float32, 4),
		"other":       autograd.New(autograd.Float32, 3),
	} {
		_, err := Assign(modelTensors(), map[string]*autograd.Tensor{name: bad}, "adapter.safetensors", AssignOptions{Partial: true})
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "adapter.safetensors") {
			t.Errorf("partial load of %s %v: err %v", name, bad.Shape(), err)
		}
	}
}

//go:build !amd64

package autograd

// toBF16Vec has no vector kernel off amd64; ToBF16 runs toBF16Ref on all
// of src.
func toBF16Vec(dst []BF16, src []float32) int { return 0 }

// fromBF16Vec has no vector kernel off amd64; FromBF16 runs fromBF16Ref on
// all of src.
func fromBF16Vec(dst []float32, src []BF16) int { return 0 }

func bf16KernelName() string { return "go" }

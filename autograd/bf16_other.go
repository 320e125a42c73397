//go:build !amd64

package autograd

// bf16Use is bf16Go: there are no vector kernels off amd64.
const bf16Use = bf16Go

// bf16Supported reports whether level l runs here: only bf16Go does.
func bf16Supported(l bf16Level) bool { return l == bf16Go }

// toBF16Vec has no vector kernel off amd64; ToBF16 runs toBF16Ref on all
// of src.
func toBF16Vec(dst []BF16, src []float32) int { return 0 }

// fromBF16Vec has no vector kernel off amd64; FromBF16 runs fromBF16Ref on
// all of src.
func fromBF16Vec(dst []float32, src []BF16) int { return 0 }

// toBF16With converts nothing: no level has a kernel off amd64.
func toBF16With(l bf16Level, dst []BF16, src []float32) int { return 0 }

// fromBF16With widens nothing: no level has a kernel off amd64.
func fromBF16With(l bf16Level, dst []float32, src []BF16) int { return 0 }

package autograd

import "unsafe"

//go:noescape
func touchLinesAVX512(p unsafe.Pointer, n int)

// touchLines reads every cache line of x, to bring it into this core's cache
// in one burst of parallel misses, before a GEMM that would otherwise wait
// for it line by line while packing it (GroupedMatMul, few rows per expert).
func touchLines[T Float](x []T) {
	n := len(x) * int(unsafe.Sizeof(x[0])) &^ 255
	if n == 0 || !hasAVX512 {
		return
	}
	touchLinesAVX512(unsafe.Pointer(unsafe.SliceData(x)), n)
}

//go:build !amd64

package autograd

func packTransposed32AVX512(b *float32, idx *[32]int32, kb int, dst *float32) {
	panic("autograd: no AVX-512 packing on this architecture")
}

func packRows32AVX512(b *float32, ldb, kb int, dst *float32) {
	panic("autograd: no AVX-512 packing on this architecture")
}

func packTransposed16AVX512(b *float32, ldb, blocks int, dst *float32) {
	panic("autograd: no AVX-512 packing on this architecture")
}

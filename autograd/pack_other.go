//go:build !amd64

package autograd

func packRows32AVX512(b *float32, ldb, kb int, dst *float32) {
	panic("autograd: no AVX-512 packing on this architecture")
}

func transpose16AVX512(b *float32, ldb, blocks int, dst *float32, ldd int) {
	panic("autograd: no AVX-512 transpose on this architecture")
}

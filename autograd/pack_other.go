//go:build !amd64

package autograd

func transpose16AVX512(b *float32, ldb, blocks int, dst *float32, ldd int) {
	panic("autograd: no AVX-512 transpose on this architecture")
}

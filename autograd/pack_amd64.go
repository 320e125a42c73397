package autograd

//go:noescape
func transpose16AVX512(b *float32, ldb, blocks int, dst *float32, ldd int)

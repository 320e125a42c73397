package autograd

//go:noescape
func packTransposed32AVX512(b *float32, idx *[32]int32, kb int, dst *float32)

//go:noescape
func packRows32AVX512(b *float32, ldb, kb int, dst *float32)

//go:noescape
func packTransposed16AVX512(b *float32, ldb, blocks int, dst *float32)

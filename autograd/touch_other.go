//go:build !amd64

package autograd

// hasAVX512Loads is false off amd64: no kernel needs it.
var hasAVX512Loads = false

// touchLines does nothing off amd64.
func touchLines[T Float](x []T) {}

//go:build !amd64

package autograd

func expSum16Vec(dst, src []float32, shift float32) (int, float32) { return 0, 0 }

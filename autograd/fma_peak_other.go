//go:build !amd64

package autograd

const fmaPeakFLOPsPerIter = 0

func hasFMAPeakKernel() bool { return false }

func fmaPeakLoop(int) {}

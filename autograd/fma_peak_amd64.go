package autograd

//go:noescape
func fmaPeakAVX512(iters int)

// fmaPeakFLOPsPerIter is what one round of fmaPeakAVX512 computes: 12 FMAs
// of 16 lanes, 2 operations each.
const fmaPeakFLOPsPerIter = 12 * 16 * 2

func hasFMAPeakKernel() bool { return hasAVX512 }

func fmaPeakLoop(iters int) { fmaPeakAVX512(iters) }

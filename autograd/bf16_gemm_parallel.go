package autograd

// GemmBF16 is the package-level GemmBF16 on e's cores: the rows of C are
// split into blocks of whole 6-row tiles, one per core, each running the
// single-core product on its rows (so every element is summed exactly as on
// one core, and the result is bit-identical). Small products run on the
// calling goroutine alone. It validates as GemmBF16 does.
func (e *Engine) GemmBF16(m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) error {
	if err := checkGemmBF16(m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	tiles := (m + bf16SplitRows - 1) / bf16SplitRows
	chunks := min(e.Cores(), tiles)
	if int64(m)*int64(n)*int64(k) < bf16ParallelWork || chunks <= 1 {
		return GemmBF16(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	}
	e.SplitRange(tiles, chunks, RangeFunc(func(lo, hi int) {
		r0, r1 := lo*bf16SplitRows, min(hi*bf16SplitRows, m)
		rows := r1 - r0
		// Within bounds by construction: checkGemmBF16 accepted the whole.
		_ = GemmBF16(rows, n, k, a[r0*lda:], lda, b, ldb, c[r0*ldc:], ldc, accumulate)
	}))
	return nil
}

// bf16ParallelWork is the m·n·k below which a GemmBF16 stays on one core:
// about 20 µs of kernel time, what splitting costs to arrange.
const bf16ParallelWork = 1 << 21

// bf16SplitRows is the row block the split keeps whole: the VDPBF16PS
// kernel's 6-row tile.
const bf16SplitRows = 6

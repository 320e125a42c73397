package autograd

// Float32 products on CPUs with AVX-512 run on the package's own GEMM rather
// than the BLAS: the shapes a training step multiplies (a few hundred rows by
// a few hundred, an expert's tokens by its weights) are small enough that the
// BLAS's packing and blocking, tuned for large squares, leave a tenth of the
// core idle (BenchmarkSgemmTiledVsBLAS; the figures are in BENCHMARKS.md,
// "Kernel constants", as are those behind the constants below).
//
// The scheme is the usual one, cut to what the kernel needs: op(B) is taken
// tiledDepth rows by at most tiledWidth columns at a time, in 32-column
// panels that stay in L2 while every 8-row block of A runs across them; a
// transposed B is packed into contiguous panels first, a plain B's are read
// where they lie (sgemmColumns). A is read in place, either layout, since
// the kernel broadcasts it one element at a time. Row and column remainders
// run the same kernel on a zero-padded copy and keep the part inside C.

const (
	tileRows = 8  // rows of C per kernel call (tileKernel8x32)
	tileCols = 32 // columns of C per kernel call
)

// tiledDepth is how many rows of op(B) one pass packs: 256 rows by a
// 512-column B is 512 KB, well inside L2, and each kernel call's panel is
// 32 KB; it beat 128 and 512 on the shapes above.
const tiledDepth = 256

// tiledWidth is how many columns of C one packing covers: at tiledDepth
// their panels take 512 KB, a quarter of L2, however wide B is, where
// packing all of a wide B (an LM head's 32,000 columns) would stream its
// panels from memory for every 8 rows of A.
const tiledWidth = 512

// lineFloats is how many float32 one cache line holds.
const lineFloats = 16

// sgemmTiled computes C = alpha·op(A)·op(B) + beta·C in gemm's conventions
// on one core, for float32 on AVX-512 (tileKernel8x32), tiledWidth columns
// of C at a time.
func sgemmTiled(e *Engine, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if beta != 0 && beta != 1 || k == 0 || alpha == 0 {
		scaleInPlace(c, beta, m, n, ldc)
		beta = 1
	}
	if k == 0 || alpha == 0 { // as in BLAS, A and B are not read
		return
	}
	// Every index the kernel reads or writes lies below these.
	if transA {
		_ = a[(k-1)*lda+m-1]
	} else {
		_ = a[(m-1)*lda+k-1]
	}
	if transB {
		_ = b[(n-1)*ldb+k-1]
	} else {
		_ = b[(k-1)*ldb+n-1]
	}
	_ = c[(m-1)*ldc+n-1]
	bufp := e.tiled.Get().(*[]float32)
	defer e.tiled.Put(bufp)
	for j0 := 0; j0 < n; j0 += tiledWidth {
		bOff := j0 // column j0 of op(B)
		if transB {
			bOff = j0 * ldb
		}
		sgemmColumns(e, bufp, transA, transB, m, min(tiledWidth, n-j0), k, alpha, a, lda, b[bOff:], ldb, beta, c[j0:], ldc)
	}
}

// sgemmColumns is sgemmTiled for n <= tiledWidth and beta 0 or 1, with its
// buffers in *bufp.
//
// A plain B's full 32-column panels are read where they lie: the kernel
// takes B's row stride, and its two vectors per row stream from L2 about as
// fast as from a packed panel, so the packing pass is saved
// (BenchmarkSgemmTiledInPlaceB against Engine.packPlainB, the packing
// reference). Only a transposed B and a plain B's last partial panel are
// packed.
func sgemmColumns(e *Engine, bufp *[]float32, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ars, acs := lda, 1 // op(A)[i,p] = a[i*ars + p*acs]
	if transA {
		ars, acs = 1, lda
	}
	panels := (n + tileCols - 1) / tileCols
	firstPacked := 0 // panels from this one on are packed
	if !transB && !e.packPlainB {
		firstPacked = n / tileCols
	}
	depth := min(k, tiledDepth)
	packed := (panels - firstPacked) * tileCols * depth
	need := packed + tileRows*depth + tileRows*tileCols
	if cap(*bufp) < need {
		*bufp = make([]float32, need)
	}
	buf := (*bufp)[:need]
	bp := buf[:packed]                        // op(B) [depth, 32·(panels-firstPacked)] as panels
	ap := buf[packed : packed+tileRows*depth] // the last rows of op(A), zero-padded to 8
	tile := buf[packed+tileRows*depth:]       // one 8x32 remainder tile of C
	jPacked := firstPacked * tileCols         // first column of op(B) that is packed

	m8 := m &^ (tileRows - 1)
	for p0 := 0; p0 < k; p0 += depth {
		kb := min(depth, k-p0)
		// panel returns where panel jp of op(B)'s rows [p0, p0+kb) starts and its row stride.
		panel := func(jp int) (*float32, int) {
			if jp < firstPacked {
				return &b[p0*ldb+jp*tileCols], ldb
			}
			return &bp[(jp-firstPacked)*tileCols*kb], tileCols
		}
		if jPacked < n {
			bOff := jPacked // column jPacked of op(B): always a plain B here unless transB
			if transB {
				bOff = jPacked * ldb
			}
			packPanels(transB, b[bOff:], ldb, p0, kb, n-jPacked, bp)
		}
		acc := beta == 1 || p0 > 0
		full := n / tileCols // panels whose tiles the kernel writes into C itself
		for i := 0; i < m8; i += tileRows {
			ai := &a[i*ars+p0*acs]
			next := i + tileRows // the next row block
			for jp := range panels {
				j := jp * tileCols
				pb, pld := panel(jp)
				if j+tileCols > n {
					tileKernel8x32(kb, ai, ars, acs, pb, pld, &tile[0], tileCols, alpha, false, nil, 0, 0, nil)
					addTile(tile, tileRows, n-j, c[i*ldc+j:], ldc, acc)
					continue
				}
				// While the kernel computes, it asks for what the next calls
				// read: the next tile of C; in the first row block, a plain
				// B's next panel (read in place, so still in memory); after
				// it, the next row block of A, a row per call (transposed, all
				// of it in the first call): BenchmarkSgemmTiledPrefetch
				// measures it against Engine.tilePrefetch off.
				var cNext, pf *float32
				pfStride, pfSteps := 0, 0
				if jp+1 < full {
					cNext = &c[i*ldc+j+tileCols]
				} else if next < m8 {
					cNext = &c[next*ldc]
				}
				switch {
				case !e.tilePrefetch:
					cNext = nil
				case i == 0 && jp+1 < firstPacked:
					pf, pfStride, pfSteps = &b[p0*ldb+j+tileCols], ldb, kb
				case next < m8 && transA && jp == 0:
					pf, pfStride, pfSteps = &a[p0*lda+next], lda, kb
				case next < m8 && !transA && jp < tileRows:
					pf, pfStride, pfSteps = &a[(next+jp)*lda+p0], 2*lineFloats, (kb+2*lineFloats-1)/(2*lineFloats)
				}
				tileKernel8x32(kb, ai, ars, acs, pb, pld, &c[i*ldc+j], ldc, alpha, acc, pf, pfStride, pfSteps, cNext)
			}
		}
		if m8 == m {
			continue
		}
		clear(ap)
		for r := range m - m8 {
			for p := range kb {
				ap[p*tileRows+r] = a[(m8+r)*ars+(p0+p)*acs]
			}
		}
		for jp := range panels {
			j := jp * tileCols
			pb, pld := panel(jp)
			tileKernel8x32(kb, &ap[0], 1, tileRows, pb, pld, &tile[0], tileCols, alpha, false, nil, 0, 0, nil)
			addTile(tile, m-m8, min(tileCols, n-j), c[m8*ldc+j:], ldc, acc)
		}
	}
}

// addTile writes the top-left rows×cols of an 8x32 tile into c, or adds it
// when acc.
func addTile(tile []float32, rows, cols int, c []float32, ldc int, acc bool) {
	for r := range rows {
		dst, src := c[r*ldc:r*ldc+cols], tile[r*tileCols:r*tileCols+cols]
		if !acc {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] += v
		}
	}
}

// packPanels copies rows [p0, p0+kb) of op(B) [k,n] into 32-column panels:
// panel jp holds op(B)[p0+p, 32·jp+jj] at dst[jp·32·kb + p·32 + jj], and
// zeros for columns past n. A transposed B goes in 16x16 squares transposed
// in registers on AVX-512 (transposeInto, several times faster than a
// transposing loop); a plain B, which only its last partial panel (or the
// packPlainB reference) brings here, row by row.
func packPanels(transB bool, b []float32, ldb, p0, kb, n int, dst []float32) {
	for jp := range (n + tileCols - 1) / tileCols {
		j0 := jp * tileCols
		w := min(tileCols, n-j0)
		panel := dst[jp*tileCols*kb : (jp+1)*tileCols*kb]
		switch {
		case transB:
			if w < tileCols {
				clear(panel)
			}
			transposeInto(b[j0*ldb+p0:], ldb, w, kb, panel, tileCols)
		default:
			for p := range kb {
				row := panel[p*tileCols : (p+1)*tileCols]
				copy(row, b[(p0+p)*ldb+j0:(p0+p)*ldb+j0+w])
				clear(row[w:])
			}
		}
	}
}

// transposeInto writes the transpose of b's first n rows and k columns (row
// stride ldb) into dst (row stride ldd): dst[p*ldd + j] = b[j*ldb + p].
// 16x16 squares run on AVX-512 (transpose16AVX512), the edges and everything
// else as a loop.
func transposeInto(b []float32, ldb, n, k int, dst []float32, ldd int) {
	if n == 0 || k == 0 {
		return
	}
	_ = b[(n-1)*ldb+k-1]
	_ = dst[(k-1)*ldd+n-1]
	n16, k16 := 0, 0 // rows below n16 have their first k16 columns done
	if hasAVX512 && k >= 16 {
		n16, k16 = n&^15, k&^15
		for j := 0; j < n16; j += 16 {
			transpose16AVX512(&b[j*ldb], ldb, k16/16, &dst[j], ldd)
		}
	}
	for j := range n {
		p0 := 0
		if j < n16 {
			p0 = k16
		}
		for p, x := range b[j*ldb+p0 : j*ldb+k] {
			dst[(p0+p)*ldd+j] = x
		}
	}
}

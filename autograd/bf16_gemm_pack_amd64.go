package autograd

// packBF16Panels packs columns [p0, p0+kb) of B's first n rows (B [n, k]
// row-major, row stride ldb) into 64-column panels of pairs, the layout
// the VDPBF16PS kernels read: with steps = ceil(kb/2), panel jp holds
//
//	dst[jp·64·steps + q·64 + jj] = B[j, p0+2q] | B[j, p0+2q+1] << 16
//
// for j = 64·jp + jj, a zero high half where p0+2q+1 is past the pass
// (kb odd), and zero dwords for rows j >= n. dst: at least
// ceil(n/64)·64·steps.
func packBF16Panels(b []BF16, ldb, n, p0, kb int, dst []uint32) {
	steps := (kb + 1) / 2
	full := kb / 2
	for jp := range (n + bf16TileCols - 1) / bf16TileCols {
		j0 := jp * bf16TileCols
		w := min(bf16TileCols, n-j0)
		panel := dst[jp*bf16TileCols*steps : (jp+1)*bf16TileCols*steps]
		if w < bf16TileCols {
			clear(panel)
		}
		for jj := range w {
			row := b[(j0+jj)*ldb+p0 : (j0+jj)*ldb+p0+kb]
			for q := range full {
				panel[q*bf16TileCols+jj] = uint32(row[2*q]) | uint32(row[2*q+1])<<16
			}
			if kb&1 != 0 {
				panel[full*bf16TileCols+jj] = uint32(row[kb-1])
			}
		}
	}
}

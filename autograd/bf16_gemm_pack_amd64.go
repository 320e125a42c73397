package autograd

import "unsafe"

// packBF16Panels packs columns [p0, p0+kb) of B's first n rows (B [n, k]
// row-major, row stride ldb) into 64-column panels of pairs, the layout
// the VDPBF16PS kernels read: with steps = ceil(kb/2), panel jp holds
//
//	dst[jp·64·steps + q·64 + jj] = B[j, p0+2q] | B[j, p0+2q+1] << 16
//
// for j = 64·jp + jj, a zero high half where p0+2q+1 is past the pass
// (kb odd), and zero dwords for rows j >= n. dst: at least
// ceil(n/64)·64·steps.
//
// With AVX-512 and an even ldb, a pair is a dword at a dword stride, so
// each 16 rows' first 16·⌊kb/32⌋ pairs are transposed as float32 bit
// patterns in 16x16 squares (transpose16AVX512, which moves bits without
// reading them as numbers); the rest runs as a loop.
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
		w16, q16 := 0, 0 // rows below w16 have their first q16 pairs packed
		if hasAVX512 && ldb%2 == 0 && full >= 16 {
			w16, q16 = w&^15, full&^15
			for g := 0; g < w16; g += 16 {
				src := (*float32)(unsafe.Pointer(&b[(j0+g)*ldb+p0]))
				transpose16AVX512(src, ldb/2, q16/16, (*float32)(unsafe.Pointer(&panel[g])), bf16TileCols)
			}
		}
		for jj := range w {
			row := b[(j0+jj)*ldb+p0 : (j0+jj)*ldb+p0+kb]
			qStart := 0
			if jj < w16 {
				qStart = q16
			}
			for q := qStart; q < full; q++ {
				panel[q*bf16TileCols+jj] = uint32(row[2*q]) | uint32(row[2*q+1])<<16
			}
			if kb&1 != 0 {
				panel[full*bf16TileCols+jj] = uint32(row[kb-1])
			}
		}
	}
}

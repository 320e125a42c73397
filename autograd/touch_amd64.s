#include "textflag.h"

// func touchLinesAVX512(p unsafe.Pointer, n int)
// Loads n bytes (n a multiple of 256) from p, four cache lines a step with
// no dependence between the loads, so that many misses are in flight at once.
TEXT ·touchLinesAVX512(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	XORQ AX, AX
	TESTQ CX, CX
	JLE  done

loop:
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS 64(SI)(AX*1), Z1
	VMOVUPS 128(SI)(AX*1), Z2
	VMOVUPS 192(SI)(AX*1), Z3
	ADDQ    $256, AX
	CMPQ    AX, CX
	JLT     loop

done:
	VZEROUPPER
	RET

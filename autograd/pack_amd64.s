#include "textflag.h"

// func packTransposed32AVX512(b *float32, idx *[32]int32, kb int, dst *float32)
//
// Packs 32 rows of a row-major B, read down their first kb columns, as one
// 32-column panel of op(B) = Bᵀ: dst[p*32 + j] = b[idx[j] + p] for p < kb,
// j < 32, where idx[j] is row j's offset in elements (j·ldb). Each step
// gathers one column of the 32 rows, 16 lanes at a time.
TEXT ·packTransposed32AVX512(SB), NOSPLIT, $0-32
	MOVQ    b+0(FP), SI
	MOVQ    idx+8(FP), AX
	MOVQ    kb+16(FP), CX
	MOVQ    dst+24(FP), DI
	VMOVDQU32 (AX), Z2
	VMOVDQU32 64(AX), Z3
	TESTQ   CX, CX
	JLE     done

loop:
	KXNORW     K1, K1, K1
	KXNORW     K2, K2, K2
	VGATHERDPS (SI)(Z2*4), K1, Z0
	VGATHERDPS (SI)(Z3*4), K2, Z1
	VMOVUPS    Z0, (DI)
	VMOVUPS    Z1, 64(DI)
	ADDQ       $4, SI
	ADDQ       $128, DI
	DECQ       CX
	JNZ        loop

done:
	VZEROUPPER
	RET

// func packRows32AVX512(b *float32, ldb, kb int, dst *float32)
//
// Packs 32 columns of kb rows of a row-major B (row stride ldb elements) as
// one panel: dst[p*32 + j] = b[p*ldb + j] for p < kb, j < 32.
TEXT ·packRows32AVX512(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ ldb+8(FP), DX
	MOVQ kb+16(FP), CX
	MOVQ dst+24(FP), DI
	SHLQ $2, DX
	TESTQ CX, CX
	JLE  rowsdone

rows:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    DX, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     rows

rowsdone:
	VZEROUPPER
	RET

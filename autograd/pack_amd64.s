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

// func packTransposed16AVX512(b *float32, ldb, blocks int, dst *float32)
//
// Packs 16 rows of a row-major B (row stride ldb elements), read down their
// first 16·blocks columns, as the left half of a 32-column panel of Bᵀ:
// dst[p*32 + j] = b[j*ldb + p] for p < 16·blocks, j < 16. Each block loads
// a 16x16 square into Z0-Z15 (row j in Zj), transposes it in three rounds
// of shuffles (Z16-Z31 between rounds) and stores column q as Zq.
TEXT ·packTransposed16AVX512(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ ldb+8(FP), DX
	MOVQ blocks+16(FP), CX
	MOVQ dst+24(FP), DI
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R11 // 3 rows
	LEAQ (SI)(DX*4), R8  // row 4
	LEAQ (R8)(DX*4), R9  // row 8
	LEAQ (R9)(DX*4), R10 // row 12
	TESTQ CX, CX
	JLE  tdone

tblock:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(DX*1), Z1
	VMOVUPS (SI)(DX*2), Z2
	VMOVUPS (SI)(R11*1), Z3
	VMOVUPS (R8), Z4
	VMOVUPS (R8)(DX*1), Z5
	VMOVUPS (R8)(DX*2), Z6
	VMOVUPS (R8)(R11*1), Z7
	VMOVUPS (R9), Z8
	VMOVUPS (R9)(DX*1), Z9
	VMOVUPS (R9)(DX*2), Z10
	VMOVUPS (R9)(R11*1), Z11
	VMOVUPS (R10), Z12
	VMOVUPS (R10)(DX*1), Z13
	VMOVUPS (R10)(DX*2), Z14
	VMOVUPS (R10)(R11*1), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VSHUFPS $0x44, Z18, Z16, Z0
	VSHUFPS $0xEE, Z18, Z16, Z1
	VSHUFPS $0x44, Z19, Z17, Z2
	VSHUFPS $0xEE, Z19, Z17, Z3
	VSHUFPS $0x44, Z22, Z20, Z4
	VSHUFPS $0xEE, Z22, Z20, Z5
	VSHUFPS $0x44, Z23, Z21, Z6
	VSHUFPS $0xEE, Z23, Z21, Z7
	VSHUFPS $0x44, Z26, Z24, Z8
	VSHUFPS $0xEE, Z26, Z24, Z9
	VSHUFPS $0x44, Z27, Z25, Z10
	VSHUFPS $0xEE, Z27, Z25, Z11
	VSHUFPS $0x44, Z30, Z28, Z12
	VSHUFPS $0xEE, Z30, Z28, Z13
	VSHUFPS $0x44, Z31, Z29, Z14
	VSHUFPS $0xEE, Z31, Z29, Z15
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0xDD, Z4, Z0, Z20
	VSHUFF32X4 $0x88, Z12, Z8, Z24
	VSHUFF32X4 $0xDD, Z12, Z8, Z28
	VSHUFF32X4 $0x88, Z5, Z1, Z17
	VSHUFF32X4 $0xDD, Z5, Z1, Z21
	VSHUFF32X4 $0x88, Z13, Z9, Z25
	VSHUFF32X4 $0xDD, Z13, Z9, Z29
	VSHUFF32X4 $0x88, Z6, Z2, Z18
	VSHUFF32X4 $0xDD, Z6, Z2, Z22
	VSHUFF32X4 $0x88, Z14, Z10, Z26
	VSHUFF32X4 $0xDD, Z14, Z10, Z30
	VSHUFF32X4 $0x88, Z7, Z3, Z19
	VSHUFF32X4 $0xDD, Z7, Z3, Z23
	VSHUFF32X4 $0x88, Z15, Z11, Z27
	VSHUFF32X4 $0xDD, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z24, Z16, Z0
	VSHUFF32X4 $0xDD, Z24, Z16, Z8
	VSHUFF32X4 $0x88, Z25, Z17, Z1
	VSHUFF32X4 $0xDD, Z25, Z17, Z9
	VSHUFF32X4 $0x88, Z26, Z18, Z2
	VSHUFF32X4 $0xDD, Z26, Z18, Z10
	VSHUFF32X4 $0x88, Z27, Z19, Z3
	VSHUFF32X4 $0xDD, Z27, Z19, Z11
	VSHUFF32X4 $0x88, Z28, Z20, Z4
	VSHUFF32X4 $0xDD, Z28, Z20, Z12
	VSHUFF32X4 $0x88, Z29, Z21, Z5
	VSHUFF32X4 $0xDD, Z29, Z21, Z13
	VSHUFF32X4 $0x88, Z30, Z22, Z6
	VSHUFF32X4 $0xDD, Z30, Z22, Z14
	VSHUFF32X4 $0x88, Z31, Z23, Z7
	VSHUFF32X4 $0xDD, Z31, Z23, Z15
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 128(DI)
	VMOVUPS Z2, 256(DI)
	VMOVUPS Z3, 384(DI)
	VMOVUPS Z4, 512(DI)
	VMOVUPS Z5, 640(DI)
	VMOVUPS Z6, 768(DI)
	VMOVUPS Z7, 896(DI)
	VMOVUPS Z8, 1024(DI)
	VMOVUPS Z9, 1152(DI)
	VMOVUPS Z10, 1280(DI)
	VMOVUPS Z11, 1408(DI)
	VMOVUPS Z12, 1536(DI)
	VMOVUPS Z13, 1664(DI)
	VMOVUPS Z14, 1792(DI)
	VMOVUPS Z15, 1920(DI)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $2048, DI
	DECQ CX
	JNZ  tblock

tdone:
	VZEROUPPER
	RET

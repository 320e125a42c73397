#include "textflag.h"

// func tileKernel8x32(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, alpha float32, accumulate bool, pf *float32, pfStride, pfSteps int, cNext *float32)
//
// An 8x32 block of C = alpha·A·B (+ C when accumulate): for rows r < 8 and
// columns j < 32,
//
//	acc[r][j] = Σ_{p<k} a[r*ars + p*acs] · b[p*ldb + j]
//	c[r*ldc + j] = alpha·acc[r][j] (+ c[r*ldc + j])
//
// Strides are in elements. A is read one element at a time (broadcast), so
// either of its layouts serves; B's and C's rows are contiguous. Z0-Z15 hold
// the 8x32 accumulators, row r in Z(2r) and Z(2r+1).
//
// While it computes, it asks for what the caller's next calls will read, so
// that those find it in cache: the two cache lines at pf, pf + pfStride, ...
// (pfSteps of them, one pair per step of the first pfSteps steps of p;
// prefetches never fault, so they may run past an operand's end), and, when
// cNext is not nil, the next 8x32 block of C (its 16 lines, for writing).
TEXT ·tileKernel8x32(SB), NOSPLIT, $0-104
	MOVQ ldc+56(FP), R12
	SHLQ $2, R12
	MOVQ cNext+96(FP), R11
	TESTQ R11, R11
	JZ    steps

// PREFETCHW (R11) and 64(R11), encoded by hand (the assembler lacks the
// mnemonic), then the next row.
#define PREFETCHW_ROW \
	BYTE $0x41; BYTE $0x0F; BYTE $0x0D; BYTE $0x0B; \
	BYTE $0x41; BYTE $0x0F; BYTE $0x0D; BYTE $0x4B; BYTE $0x40; \
	ADDQ R12, R11

	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW
	PREFETCHW_ROW

steps:
	// CX = the steps that prefetch, min(pfSteps, k); k+0(FP) = the rest.
	MOVQ    k+0(FP), CX
	MOVQ    pfSteps+88(FP), AX
	CMPQ    AX, CX
	CMOVQGT CX, AX
	SUBQ    AX, CX
	MOVQ    CX, k+0(FP)
	MOVQ    AX, CX
	MOVQ    pf+72(FP), R13
	MOVQ    pfStride+80(FP), AX
	SHLQ    $2, AX
	MOVQ    a+8(FP), SI
	MOVQ    ars+16(FP), DX
	MOVQ    acs+24(FP), R8
	MOVQ    b+32(FP), BX
	MOVQ    ldb+40(FP), R9
	MOVQ    c+48(FP), R10
	SHLQ    $2, DX
	SHLQ    $2, R8
	SHLQ    $2, R9
	LEAQ    (DX)(DX*2), R11 // 3 rows of A
	LEAQ    (SI)(DX*4), DI  // row 4 of A
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	VPXORD  Z4, Z4, Z4
	VPXORD  Z5, Z5, Z5
	VPXORD  Z6, Z6, Z6
	VPXORD  Z7, Z7, Z7
	VPXORD  Z8, Z8, Z8
	VPXORD  Z9, Z9, Z9
	VPXORD  Z10, Z10, Z10
	VPXORD  Z11, Z11, Z11
	VPXORD  Z12, Z12, Z12
	VPXORD  Z13, Z13, Z13
	VPXORD  Z14, Z14, Z14
	VPXORD  Z15, Z15, Z15

// One step p: the outer product of A's column p and B's row p.
#define STEP \
	VMOVUPS      (BX), Z16; \
	VMOVUPS      64(BX), Z17; \
	VBROADCASTSS (SI), Z18; \
	VBROADCASTSS (SI)(DX*1), Z19; \
	VBROADCASTSS (SI)(DX*2), Z20; \
	VBROADCASTSS (SI)(R11*1), Z21; \
	VFMADD231PS  Z16, Z18, Z0; \
	VFMADD231PS  Z17, Z18, Z1; \
	VFMADD231PS  Z16, Z19, Z2; \
	VFMADD231PS  Z17, Z19, Z3; \
	VFMADD231PS  Z16, Z20, Z4; \
	VFMADD231PS  Z17, Z20, Z5; \
	VFMADD231PS  Z16, Z21, Z6; \
	VFMADD231PS  Z17, Z21, Z7; \
	VBROADCASTSS (DI), Z22; \
	VBROADCASTSS (DI)(DX*1), Z23; \
	VBROADCASTSS (DI)(DX*2), Z24; \
	VBROADCASTSS (DI)(R11*1), Z25; \
	VFMADD231PS  Z16, Z22, Z8; \
	VFMADD231PS  Z17, Z22, Z9; \
	VFMADD231PS  Z16, Z23, Z10; \
	VFMADD231PS  Z17, Z23, Z11; \
	VFMADD231PS  Z16, Z24, Z12; \
	VFMADD231PS  Z17, Z24, Z13; \
	VFMADD231PS  Z16, Z25, Z14; \
	VFMADD231PS  Z17, Z25, Z15; \
	ADDQ         R8, SI; \
	ADDQ         R8, DI; \
	ADDQ         R9, BX

	TESTQ CX, CX
	JZ    rest

prefetching:
	PREFETCHT0 (R13)
	PREFETCHT0 64(R13)
	ADDQ       AX, R13
	STEP
	DECQ       CX
	JNZ        prefetching

rest:
	MOVQ  k+0(FP), CX
	TESTQ CX, CX
	JZ    store

loop:
	STEP
	DECQ CX
	JNZ  loop

store:
	VBROADCASTSS alpha+64(FP), Z26
	MOVBLZX      accumulate+68(FP), AX
	TESTQ        AX, AX
	JNZ          accstore

#define PUT(lo, hi) \
	VMULPS  Z26, lo, lo; \
	VMULPS  Z26, hi, hi; \
	VMOVUPS lo, (R10); \
	VMOVUPS hi, 64(R10); \
	ADDQ    R12, R10

	PUT(Z0, Z1)
	PUT(Z2, Z3)
	PUT(Z4, Z5)
	PUT(Z6, Z7)
	PUT(Z8, Z9)
	PUT(Z10, Z11)
	PUT(Z12, Z13)
	PUT(Z14, Z15)
	VZEROUPPER
	RET

#define ADD(lo, hi) \
	VMOVUPS     (R10), Z27; \
	VMOVUPS     64(R10), Z28; \
	VFMADD231PS Z26, lo, Z27; \
	VFMADD231PS Z26, hi, Z28; \
	VMOVUPS     Z27, (R10); \
	VMOVUPS     Z28, 64(R10); \
	ADDQ        R12, R10

accstore:
	ADD(Z0, Z1)
	ADD(Z2, Z3)
	ADD(Z4, Z5)
	ADD(Z6, Z7)
	ADD(Z8, Z9)
	ADD(Z10, Z11)
	ADD(Z12, Z13)
	ADD(Z14, Z15)
	VZEROUPPER
	RET

// func rowMaxAVX512(p *float32, n int, m float32) float32
// The largest of m and p[0:n] (n a multiple of 16), as the Go loop's
// "if x > m { m = x }" finds it: VMAXPS returns its second source (Intel
// order), here the running maximum, unless the first (x) is greater, so a NaN
// or a tie never replaces it.
TEXT ·rowMaxAVX512(SB), NOSPLIT, $0-28
	MOVQ         p+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Z0
	VMOVAPS      Z0, Z1
	XORQ         AX, AX
	CMPQ         CX, $32
	JLT          one

two:
	VMOVUPS (SI)(AX*4), Z2
	VMOVUPS 64(SI)(AX*4), Z3
	VMAXPS  Z0, Z2, Z0 // Intel order vmaxps z0, z2(x), z0(max): max unless x > max
	VMAXPS  Z1, Z3, Z1
	ADDQ    $32, AX
	LEAQ    32(AX), DX
	CMPQ    DX, CX
	JLE     two

one:
	CMPQ    AX, CX
	JGE     fold
	VMOVUPS (SI)(AX*4), Z2
	VMAXPS  Z0, Z2, Z0

fold:
	VMAXPS        Z1, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXPS        X1, X0, X0
	VZEROUPPER
	MOVSS         X0, ret+24(FP)
	RET

// func scoreGradAVX512(row, dp *float32, n int, delta float32)
// row[j] *= dp[j] - delta for n elements (n a multiple of 16), subtract then
// multiply, each rounded, as the Go loop does.
TEXT ·scoreGradAVX512(SB), NOSPLIT, $0-28
	MOVQ         row+0(FP), SI
	MOVQ         dp+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS delta+24(FP), Z2
	XORQ         AX, AX
	TESTQ        CX, CX
	JLE          sgdone

sgloop:
	VMOVUPS (DI)(AX*4), Z0
	VSUBPS  Z2, Z0, Z0
	VMULPS  (SI)(AX*4), Z0, Z0
	VMOVUPS Z0, (SI)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     sgloop

sgdone:
	VZEROUPPER
	RET

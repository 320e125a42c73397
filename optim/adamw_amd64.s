#include "textflag.h"

// func adamwAVX512(pp, gp, mp, vp *float32, n int, c *[8]float32)
// The AdamW update of RunRange for n elements (n a multiple of 16), 16 lanes
// at a time, with the same operations in the same order and no fused
// multiply-add, so results equal the Go loop's bit for bit.
// c holds b1, 1-b1, b2, 1-b2, decay, stepSize, 1/sqrt(bc2), eps.
TEXT ·adamwAVX512(SB), NOSPLIT, $0-48
	MOVQ pp+0(FP), SI
	MOVQ gp+8(FP), DI
	MOVQ mp+16(FP), DX
	MOVQ vp+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), R9
	VBROADCASTSS 0(R9), Z0  // b1
	VBROADCASTSS 4(R9), Z1  // 1-b1
	VBROADCASTSS 8(R9), Z2  // b2
	VBROADCASTSS 12(R9), Z3 // 1-b2
	VBROADCASTSS 16(R9), Z4 // decay
	VBROADCASTSS 20(R9), Z5 // step size
	VBROADCASTSS 24(R9), Z6 // 1/sqrt(bc2)
	VBROADCASTSS 28(R9), Z7 // eps
	XORQ AX, AX
	TESTQ CX, CX
	JLE done

loop:
	VMOVUPS (DI)(AX*4), Z8   // g
	VMOVUPS (DX)(AX*4), Z9   // m
	VMOVUPS (R8)(AX*4), Z10  // v
	VMULPS  Z9, Z0, Z9       // b1*m
	VMULPS  Z8, Z1, Z11      // (1-b1)*g
	VADDPS  Z11, Z9, Z9      // m' = b1*m + (1-b1)*g
	VMULPS  Z10, Z2, Z10     // b2*v
	VMULPS  Z8, Z3, Z12      // (1-b2)*g
	VMULPS  Z8, Z12, Z12     // (1-b2)*g*g
	VADDPS  Z12, Z10, Z10    // v' = b2*v + (1-b2)*g*g
	VMOVUPS Z9, (DX)(AX*4)
	VMOVUPS Z10, (R8)(AX*4)
	VSQRTPS Z10, Z13         // sqrt(v')
	VMULPS  Z6, Z13, Z13     // sqrt(v')/sqrt(bc2)
	VADDPS  Z7, Z13, Z13     // den
	VMULPS  Z9, Z5, Z14      // step*m'
	VDIVPS  Z13, Z14, Z14    // step*m'/den
	VMOVUPS (SI)(AX*4), Z15  // p
	VMULPS  Z4, Z15, Z15     // p*decay
	VSUBPS  Z14, Z15, Z15    // p*decay - step*m'/den
	VMOVUPS Z15, (SI)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     loop

done:
	VZEROUPPER
	RET

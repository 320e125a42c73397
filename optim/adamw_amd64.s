#include "textflag.h"

// func adamwAVX512(pp, gp, mp, vp *float32, n int, c *[9]float32)
// The AdamW update of RunRange for n elements (n a multiple of 16), 16 lanes
// at a time, with the same operations in the same order and no fused
// multiply-add, so results equal the Go loop's bit for bit.
// c holds b1, 1-b1, b2, 1-b2, decay, stepSize, 1/sqrt(bc2), eps, gradScale.
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
	VBROADCASTSS 32(R9), Z16 // gradient scale
	XORQ AX, AX
	TESTQ CX, CX
	JLE done

loop:
	VMOVUPS (DI)(AX*4), Z8   // g
	VMULPS  Z16, Z8, Z8      // g*gradScale
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

// func sumSquaresAVX512(xp *float32, n int, acc *[32]float64)
// Adds x[i]*x[i], widened to float64, to acc[i mod 32] for n elements (n a
// multiple of 32), each lane in order, multiply and add rounded apart, so the
// sums equal the Go loop's bit for bit.
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-24
	MOVQ xp+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ acc+16(FP), DI
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1
	VMOVUPD 128(DI), Z2
	VMOVUPD 192(DI), Z3
	XORQ AX, AX
	TESTQ CX, CX
	JLE sqdone

sqloop:
	VCVTPS2PD 0(SI)(AX*4), Z4
	VCVTPS2PD 32(SI)(AX*4), Z5
	VCVTPS2PD 64(SI)(AX*4), Z6
	VCVTPS2PD 96(SI)(AX*4), Z7
	VMULPD  Z4, Z4, Z4
	VMULPD  Z5, Z5, Z5
	VMULPD  Z6, Z6, Z6
	VMULPD  Z7, Z7, Z7
	VADDPD  Z4, Z0, Z0
	VADDPD  Z5, Z1, Z1
	VADDPD  Z6, Z2, Z2
	VADDPD  Z7, Z3, Z3
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     sqloop

sqdone:
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	VZEROUPPER
	RET

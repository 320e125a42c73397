#include "textflag.h"

// func rmsDotAVX512(dy, w, x *float32, n int, acc *[16]float64)
// acc[i mod 16] += (dy[i]*w[i])*x[i] in float64, for n elements (n a
// multiple of 16), each product and sum rounded apart as in the Go loop.
TEXT ·rmsDotAVX512(SB), NOSPLIT, $0-40
	MOVQ    dy+0(FP), SI
	MOVQ    w+8(FP), DI
	MOVQ    x+16(FP), DX
	MOVQ    n+24(FP), CX
	MOVQ    acc+32(FP), R8
	VMOVUPD (R8), Z0
	VMOVUPD 64(R8), Z1
	XORQ    AX, AX
	TESTQ   CX, CX
	JLE     dotdone

dotloop:
	VCVTPS2PD (SI)(AX*4), Z2
	VCVTPS2PD 32(SI)(AX*4), Z3
	VCVTPS2PD (DI)(AX*4), Z4
	VCVTPS2PD 32(DI)(AX*4), Z5
	VCVTPS2PD (DX)(AX*4), Z6
	VCVTPS2PD 32(DX)(AX*4), Z7
	VMULPD    Z4, Z2, Z2
	VMULPD    Z5, Z3, Z3
	VMULPD    Z6, Z2, Z2
	VMULPD    Z7, Z3, Z3
	VADDPD    Z2, Z0, Z0
	VADDPD    Z3, Z1, Z1
	ADDQ      $16, AX
	CMPQ      AX, CX
	JLT       dotloop

dotdone:
	VMOVUPD Z0, (R8)
	VMOVUPD Z1, 64(R8)
	VZEROUPPER
	RET

// func rmsDxAVX512(dx, dy, w, x *float32, n int, a, c float32)
// dx[i] += (a*dy[i])*w[i] - c*x[i] for n elements (n a multiple of 16), each
// operation rounded apart as in the Go loop.
TEXT ·rmsDxAVX512(SB), NOSPLIT, $0-48
	MOVQ         dx+0(FP), R9
	MOVQ         dy+8(FP), SI
	MOVQ         w+16(FP), DI
	MOVQ         x+24(FP), DX
	MOVQ         n+32(FP), CX
	VBROADCASTSS a+40(FP), Z8
	VBROADCASTSS c+44(FP), Z9
	XORQ         AX, AX
	TESTQ        CX, CX
	JLE          dxdone

dxloop:
	VMULPS  (SI)(AX*4), Z8, Z0 // a*dy
	VMULPS  (DI)(AX*4), Z0, Z0 // *w
	VMULPS  (DX)(AX*4), Z9, Z1 // c*x
	VSUBPS  Z1, Z0, Z0
	VADDPS  (R9)(AX*4), Z0, Z0
	VMOVUPS Z0, (R9)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     dxloop

dxdone:
	VZEROUPPER
	RET

// func rmsAccAVX512(acc *float64, dy, x *float32, n int, rs float64)
// acc[i] += (dy[i]*x[i])*rs in float64 for n elements (n a multiple of 8).
TEXT ·rmsAccAVX512(SB), NOSPLIT, $0-40
	MOVQ         acc+0(FP), R8
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD rs+32(FP), Z8
	XORQ         AX, AX
	TESTQ        CX, CX
	JLE          accdone

accloop:
	VCVTPS2PD (SI)(AX*4), Z0
	VCVTPS2PD (DX)(AX*4), Z1
	VMULPD    Z1, Z0, Z0
	VMULPD    Z8, Z0, Z0
	VADDPD    (R8)(AX*8), Z0, Z0
	VMOVUPD   Z0, (R8)(AX*8)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       accloop

accdone:
	VZEROUPPER
	RET

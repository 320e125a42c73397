#include "textflag.h"

// func ropeRowsAVX512(y1, y2, x1, x2, c, s *float32, n int, inverse, add bool)
// One row half-pair of RoPE for n elements (n a multiple of 16):
//
//	y1 (+)= x1*c - x2*s    y2 (+)= x2*c + x1*s
//
// with s negated when inverse (the backward rotation), each multiply, add and
// subtract rounded on its own as in nnRopeRotate's Go loop; add accumulates
// into y1, y2, else they are overwritten.
TEXT ·ropeRowsAVX512(SB), NOSPLIT, $0-58
	MOVQ    y1+0(FP), DI
	MOVQ    y2+8(FP), R8
	MOVQ    x1+16(FP), SI
	MOVQ    x2+24(FP), R9
	MOVQ    c+32(FP), R10
	MOVQ    s+40(FP), R11
	MOVQ    n+48(FP), CX
	MOVBLZX inverse+56(FP), AX
	MOVBLZX add+57(FP), BX
	VPXORD  Z7, Z7, Z7
	TESTQ   AX, AX
	JZ      start
	MOVL    $0x80000000, DX
	VPBROADCASTD DX, Z7 // flips the sign of s

start:
	XORQ    AX, AX
	TESTQ   CX, CX
	JLE     done
	TESTQ   BX, BX
	JNZ     addloop

#define ROT \
	VMOVUPS (SI)(AX*4), Z0; \
	VMOVUPS (R9)(AX*4), Z1; \
	VMOVUPS (R10)(AX*4), Z2; \
	VMOVUPS (R11)(AX*4), Z3; \
	VPXORD  Z7, Z3, Z3; \
	VMULPS  Z2, Z0, Z4; \
	VMULPS  Z3, Z1, Z5; \
	VSUBPS  Z5, Z4, Z4; \
	VMULPS  Z2, Z1, Z5; \
	VMULPS  Z3, Z0, Z6; \
	VADDPS  Z6, Z5, Z5

setloop:
	ROT
	VMOVUPS Z4, (DI)(AX*4)
	VMOVUPS Z5, (R8)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     setloop
	JMP     done

addloop:
	ROT
	VADDPS  (DI)(AX*4), Z4, Z4
	VADDPS  (R8)(AX*4), Z5, Z5
	VMOVUPS Z4, (DI)(AX*4)
	VMOVUPS Z5, (R8)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     addloop

done:
	VZEROUPPER
	RET

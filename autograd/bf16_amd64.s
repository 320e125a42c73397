#include "textflag.h"

// The AVX512-BF16 instructions are written as BYTE directives, which
// tools/bf16asm generates from the instruction in each line's comment (go
// generate ./autograd/ rewrites them); the other instructions are the Go
// assembler's own.

// func toBF16AVX512BF16(dst *BF16, src *float32, n int)
// Rounds n float32 to bfloat16 with VCVTNE2PS2BF16, 32 per iteration, then
// one VCVTNEPS2BF16 of 16 and a masked VCVTNEPS2BF16 of the last n%16.
// Needs AVX512-BF16, AVX512BW and AVX512VL.
TEXT ·toBF16AVX512BF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop32:
	CMPQ    CX, $32
	JLT     tail16
	VMOVUPS 64(SI), Z1
	BYTE $0x62; BYTE $0xf2; BYTE $0x77; BYTE $0x48; BYTE $0x72; BYTE $0x16 // bf16asm: VCVTNE2PS2BF16 (SI), Z1, Z2
	VMOVDQU32 Z2, (DI)
	ADDQ    $128, SI
	ADDQ    $64, DI
	SUBQ    $32, CX
	JMP     loop32

tail16:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI), Z0
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0 // bf16asm: VCVTNEPS2BF16 Z0, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $64, SI
	ADDQ    $32, DI
	SUBQ    $16, CX

tail:
	TESTQ     CX, CX
	JZ        done
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K1 // the low n%16 lanes
	VMOVUPS.Z (SI), K1, Z0
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0 // bf16asm: VCVTNEPS2BF16 Z0, Y0
	VMOVDQU16 Y0, K1, (DI)

done:
	VZEROUPPER
	RET

// ROUND16 rounds the 16 float32 in Z0 to bfloat16 in the low words of Z1's
// dwords, as VCVTNEPS2BF16 does: x + 0x7fff + (x>>16 & 1), shifted down 16;
// NaN lanes (K1) get x>>16 | 0x40, zero and subnormal lanes (K2) x>>16 &
// 0x8000. Constants: Z26 0x8000, Z27 0x40, Z28 0x7f800000, Z29 0x7fffffff,
// Z30 1, Z31 0x7fff.
#define ROUND16 \
	VPSRLD    $16, Z0, Z3; \
	VPANDD    Z30, Z3, Z1; \
	VPADDD    Z31, Z1, Z1; \
	VPADDD    Z0, Z1, Z1; \
	VPSRLD    $16, Z1, Z1; \
	VPANDD    Z29, Z0, Z2; \
	VPCMPUD   $6, Z28, Z2, K1; \
	VPORD     Z27, Z3, K1, Z1; \
	VPTESTNMD Z28, Z0, K2; \
	VPANDD    Z26, Z3, K2, Z1

// func toBF16AVX512(dst *BF16, src *float32, n int)
// Rounds n float32 to bfloat16 with AVX-512F integer arithmetic, bit for bit
// as toBF16AVX512BF16, 16 per iteration and a masked last n%16.
TEXT ·toBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL         $0x8000, AX
	VPBROADCASTD AX, Z26
	MOVL         $0x40, AX
	VPBROADCASTD AX, Z27
	MOVL         $0x7f800000, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z29
	MOVL         $1, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x7fff, AX
	VPBROADCASTD AX, Z31

loop16:
	CMPQ    CX, $16
	JLT     rtail
	VMOVUPS (SI), Z0
	ROUND16
	VPMOVDW Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $32, DI
	SUBQ    $16, CX
	JMP     loop16

rtail:
	TESTQ     CX, CX
	JZ        rdone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K3 // the low n%16 lanes
	VMOVUPS.Z (SI), K3, Z0
	ROUND16
	VPMOVDW   Z1, K3, (DI)

rdone:
	VZEROUPPER
	RET

// func fromBF16AVX512(dst *float32, src *BF16, n int)
// Widens n bfloat16 to float32 (zero-extend, shift left 16), 32 per
// iteration, then 16 and a masked last n%16. Needs AVX512F, BW and VL.
TEXT ·fromBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

wloop32:
	CMPQ      CX, $32
	JLT       wtail16
	VPMOVZXWD (SI), Z0
	VPMOVZXWD 32(SI), Z1
	VPSLLD    $16, Z0, Z0
	VPSLLD    $16, Z1, Z1
	VMOVUPS   Z0, (DI)
	VMOVUPS   Z1, 64(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	SUBQ      $32, CX
	JMP       wloop32

wtail16:
	CMPQ      CX, $16
	JLT       wtail
	VPMOVZXWD (SI), Z0
	VPSLLD    $16, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, CX

wtail:
	TESTQ       CX, CX
	JZ          wdone
	MOVL        $1, AX
	SHLL        CX, AX
	DECL        AX
	KMOVW       AX, K1 // the low n%16 lanes
	VMOVDQU16.Z (SI), K1, Y0
	VPMOVZXWD   Y0, Z0
	VPSLLD      $16, Z0, Z0
	VMOVUPS     Z0, K1, (DI)

wdone:
	VZEROUPPER
	RET

#include "textflag.h"

// Constants of expLane32 (attn_exp.go), as float32 bits.
#define CONST32(name, bits) \
	DATA name<>+0(SB)/4, bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $4

CONST32(ax32Lo, $0xc2f00000)    // -120
CONST32(ax32Hi, $0x42f00000)    // 120
CONST32(ax32Log2E, $0x3fb8aa3b) // log2(e)
CONST32(ax32Magic, $0x4b400000) // 1.5 * 2^23
CONST32(ax32Ln2Hi, $0x3f318000) // 0.693359375
CONST32(ax32Ln2Lo, $0xb95e8083) // ln 2 - 0.693359375
CONST32(ax32C7, $0x39500d01)    // 1/5040
CONST32(ax32C6, $0x3ab60b61)    // 1/720
CONST32(ax32C5, $0x3c088889)    // 1/120
CONST32(ax32C4, $0x3d2aaaab)    // 1/24
CONST32(ax32C3, $0x3e2aaaab)    // 1/6
CONST32(ax32C2, $0x3f000000)    // 1/2
CONST32(ax32One, $0x3f800000)   // 1

// func expSum16AVX512(dst, src []float32, shift float32) float32
//
// expLane32 on 16 float32 lanes, len(dst) a multiple of 16: x = src - shift
// in Z0, c in Z1, r in Z2, n in Z4, p in Z6 (then e^c); Z16 holds the
// partial sums, lane l adding elements l, l+16, ...; the sum is
// ((s0+s8)+(s4+s12)) + ... as expSum16Lanes combines them. Each op is one
// rounding of expLane32's (no fused multiply-adds), so the two agree bit for
// bit.
TEXT ·expSum16AVX512(SB), NOSPLIT, $0-60
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         src_base+24(FP), SI
	VBROADCASTSS shift+48(FP), Z17
	VBROADCASTSS ax32Lo<>(SB), Z31
	VBROADCASTSS ax32Hi<>(SB), Z30
	VBROADCASTSS ax32Log2E<>(SB), Z28
	VBROADCASTSS ax32Magic<>(SB), Z27
	VBROADCASTSS ax32Ln2Hi<>(SB), Z26
	VBROADCASTSS ax32Ln2Lo<>(SB), Z25
	VBROADCASTSS ax32C7<>(SB), Z24
	VBROADCASTSS ax32C6<>(SB), Z23
	VBROADCASTSS ax32C5<>(SB), Z22
	VBROADCASTSS ax32C4<>(SB), Z21
	VBROADCASTSS ax32C3<>(SB), Z20
	VBROADCASTSS ax32C2<>(SB), Z19
	VBROADCASTSS ax32One<>(SB), Z18
	VPXORD       Z16, Z16, Z16
	XORQ         AX, AX
	TESTQ        CX, CX
	JLE          sum

loop:
	VMOVUPS   (SI)(AX*4), Z0
	VSUBPS    Z17, Z0, Z0
	VMAXPS    Z0, Z31, Z1 // NaN x passes
	VMINPS    Z1, Z30, Z1
	VMULPS    Z28, Z1, Z3
	VADDPS    Z27, Z3, Z3
	VSUBPS    Z27, Z3, Z4 // n = round(c log2 e)
	VMULPS    Z26, Z4, Z5
	VSUBPS    Z5, Z1, Z2
	VMULPS    Z25, Z4, Z5
	VSUBPS    Z5, Z2, Z2  // r = c - n ln2
	VMULPS    Z2, Z24, Z6
	VADDPS    Z23, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z22, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z21, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z20, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z19, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z18, Z6, Z6
	VMULPS    Z2, Z6, Z6
	VADDPS    Z18, Z6, Z6
	VSCALEFPS Z4, Z6, Z6  // p 2^n
	VMOVUPS   Z6, (DI)(AX*4)
	VADDPS    Z6, Z16, Z16
	ADDQ      $16, AX
	CMPQ      AX, CX
	JLT       loop

sum:
	VEXTRACTF32X8 $1, Z16, Y1
	VADDPS        Y1, Y16, Y0  // lanes l + l+8
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0   // + l+4
	VMOVHLPS      X0, X0, X1
	VADDPS        X1, X0, X0   // + l+2
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0   // + l+1
	MOVSS         X0, ret+56(FP)
	VZEROUPPER
	RET

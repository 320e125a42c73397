#include "simd_amd64.h"

// AVX-512 bodies of the float32 activation kernels, 8 elements a step.
//
// Z18-Z31 hold constants. CORE512 takes x (float64) in Z0 and leaves c in
// Z1, ts in Z6 and q in Z7; SIG512 and the macros after it build on those.

#define CONSTS512 \
	VPXORQ       Z18, Z18, Z18; \
	VBROADCASTSD actOne<>(SB), Z19; \
	VBROADCASTSD actC2<>(SB), Z20; \
	VBROADCASTSD actC3<>(SB), Z21; \
	VBROADCASTSD actC4<>(SB), Z22; \
	VBROADCASTSD actC5<>(SB), Z23; \
	VBROADCASTSD actC6<>(SB), Z24; \
	VBROADCASTSD actC7<>(SB), Z25; \
	VBROADCASTSD actNegLn2<>(SB), Z26; \
	VBROADCASTSD actMagic<>(SB), Z27; \
	VBROADCASTSD actLog2E<>(SB), Z28; \
	VBROADCASTSD actSign<>(SB), Z29; \
	VBROADCASTSD actClamp<>(SB), Z30; \
	VBROADCASTSD actNegClamp<>(SB), Z31

// c = min(max(x, -L), L); b = -|c|; kb = b log2e + magic; n = kb - magic;
// r = b - n ln2; p = e^r; t = p 2^n; q = 1/(1+t); ts = t q. MAX and MIN
// return their first (Go order) operand when either is NaN, so NaN passes.
#define CORE512 \
	VMAXPD      Z0, Z31, Z1; \
	VMINPD      Z1, Z30, Z1; \
	VPORQ       Z29, Z1, Z2; \
	VMOVAPD     Z27, Z3; \
	VFMADD231PD Z28, Z2, Z3; \
	VSUBPD      Z27, Z3, Z4; \
	VFMADD231PD Z26, Z4, Z2; \
	VMOVAPD     Z25, Z5; \
	VFMADD213PD Z24, Z2, Z5; \
	VFMADD213PD Z23, Z2, Z5; \
	VFMADD213PD Z22, Z2, Z5; \
	VFMADD213PD Z21, Z2, Z5; \
	VFMADD213PD Z20, Z2, Z5; \
	VFMADD213PD Z19, Z2, Z5; \
	VFMADD213PD Z19, Z2, Z5; \
	VSCALEFPD   Z4, Z5, Z6; \
	VADDPD      Z19, Z6, Z7; \
	VDIVPD      Z7, Z19, Z7; \
	VMULPD      Z7, Z6, Z6

// sig = x >= 0 ? q : ts, in Z8.
#define SIG512 \
	VCMPPD    $0x1d, Z18, Z0, K1; \
	VBLENDMPD Z7, Z6, K1, Z8

// dsig = ts q, in Z9.
#define DSIG512 \
	VMULPD Z7, Z6, Z9

// silu = max(x, -L) sig, in Z10.
#define SILU512 \
	VMAXPD Z0, Z31, Z10; \
	VMULPD Z8, Z10, Z10

// dsilu = c dsig + sig, in Z11.
#define DSILU512 \
	VMOVAPD     Z8, Z11; \
	VFMADD231PD Z9, Z1, Z11

// STORE512(z, y, addr) rounds z to float32 and stores it.
#define STORE512(z, y, addr) \
	VCVTPD2PS z, y; \
	VMOVUPS   y, addr

// func sigmoidFwdAVX512(out, x []float32)
TEXT ·sigmoidFwdAVX512(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	CONSTS512
	XORQ AX, AX

sigfwd512:
	CMPQ      AX, CX
	JAE       sigfwd512done
	VCVTPS2PD (SI)(AX*4), Z0
	CORE512
	SIG512
	STORE512(Z8, Y12, (DI)(AX*4))
	ADDQ      $8, AX
	JMP       sigfwd512

sigfwd512done:
	VZEROUPPER
	RET

// func siluFwdAVX512(out, x []float32)
TEXT ·siluFwdAVX512(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	CONSTS512
	XORQ AX, AX

silufwd512:
	CMPQ      AX, CX
	JAE       silufwd512done
	VCVTPS2PD (SI)(AX*4), Z0
	CORE512
	SIG512
	SILU512
	STORE512(Z10, Y12, (DI)(AX*4))
	ADDQ      $8, AX
	JMP       silufwd512

silufwd512done:
	VZEROUPPER
	RET

// func sigmoidBwdAVX512(dx, g, x []float32)
TEXT ·sigmoidBwdAVX512(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ x_base+48(FP), SI
	CONSTS512
	XORQ AX, AX

sigbwd512:
	CMPQ        AX, CX
	JAE         sigbwd512done
	VCVTPS2PD   (SI)(AX*4), Z0
	CORE512
	DSIG512
	VCVTPS2PD   (DX)(AX*4), Z12
	VCVTPS2PD   (DI)(AX*4), Z13
	VFMADD231PD Z9, Z12, Z13
	STORE512(Z13, Y13, (DI)(AX*4))
	ADDQ        $8, AX
	JMP         sigbwd512

sigbwd512done:
	VZEROUPPER
	RET

// func siluBwdAVX512(dx, g, x []float32)
TEXT ·siluBwdAVX512(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ x_base+48(FP), SI
	CONSTS512
	XORQ AX, AX

silubwd512:
	CMPQ        AX, CX
	JAE         silubwd512done
	VCVTPS2PD   (SI)(AX*4), Z0
	CORE512
	SIG512
	DSIG512
	DSILU512
	VCVTPS2PD   (DX)(AX*4), Z12
	VCVTPS2PD   (DI)(AX*4), Z13
	VFMADD231PD Z11, Z12, Z13
	STORE512(Z13, Y13, (DI)(AX*4))
	ADDQ        $8, AX
	JMP         silubwd512

silubwd512done:
	VZEROUPPER
	RET

// func swigluFwdAVX512(out, gate, up []float32)
TEXT ·swigluFwdAVX512(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ gate_base+24(FP), SI
	MOVQ up_base+48(FP), R8
	CONSTS512
	XORQ AX, AX

swifwd512:
	CMPQ      AX, CX
	JAE       swifwd512done
	VCVTPS2PD (SI)(AX*4), Z0
	CORE512
	SIG512
	SILU512
	VCVTPS2PD (R8)(AX*4), Z12
	VMULPD    Z12, Z10, Z10
	STORE512(Z10, Y12, (DI)(AX*4))
	ADDQ      $8, AX
	JMP       swifwd512

swifwd512done:
	VZEROUPPER
	RET

// func swigluBwdAVX512(dgate, dup, g, gate, up []float32, overwrite bool)
//
// dup is stored before dgate is loaded, so the two may be the same slice
// (not with overwrite, which writes both as if they held zeros).
TEXT ·swigluBwdAVX512(SB), NOSPLIT, $0-121
	MOVQ    dgate_base+0(FP), DI
	MOVQ    dgate_len+8(FP), CX
	MOVQ    dup_base+24(FP), R9
	MOVQ    g_base+48(FP), DX
	MOVQ    gate_base+72(FP), SI
	MOVQ    up_base+96(FP), R8
	MOVBLZX overwrite+120(FP), BX
	CONSTS512
	XORQ    AX, AX

swibwd512:
	CMPQ        AX, CX
	JAE         swibwd512done
	VCVTPS2PD   (SI)(AX*4), Z0
	CORE512
	SIG512
	DSIG512
	SILU512
	DSILU512
	VCVTPS2PD   (DX)(AX*4), Z12
	VCVTPS2PD   (R8)(AX*4), Z14
	VMULPD      Z14, Z12, Z14
	TESTQ       BX, BX
	JNZ         swibwd512write
	VCVTPS2PD   (R9)(AX*4), Z13
	VFMADD231PD Z10, Z12, Z13
	STORE512(Z13, Y13, (R9)(AX*4))
	VCVTPS2PD   (DI)(AX*4), Z15
	VFMADD231PD Z11, Z14, Z15
	STORE512(Z15, Y15, (DI)(AX*4))
	ADDQ        $8, AX
	JMP         swibwd512

swibwd512write: // the products alone: what the FMAs give onto zeros
	VMULPD      Z10, Z12, Z13
	STORE512(Z13, Y13, (R9)(AX*4))
	VMULPD      Z11, Z14, Z15
	STORE512(Z15, Y15, (DI)(AX*4))
	ADDQ        $8, AX
	JMP         swibwd512

swibwd512done:
	VZEROUPPER
	RET

// func swigluBwdGateAVX512(dgate, g, gate, up []float32)
TEXT ·swigluBwdGateAVX512(SB), NOSPLIT, $0-96
	MOVQ dgate_base+0(FP), DI
	MOVQ dgate_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ gate_base+48(FP), SI
	MOVQ up_base+72(FP), R8
	CONSTS512
	XORQ AX, AX

swibwdg512:
	CMPQ        AX, CX
	JAE         swibwdg512done
	VCVTPS2PD   (SI)(AX*4), Z0
	CORE512
	SIG512
	DSIG512
	DSILU512
	VCVTPS2PD   (DX)(AX*4), Z12
	VCVTPS2PD   (R8)(AX*4), Z14
	VMULPD      Z14, Z12, Z14
	VCVTPS2PD   (DI)(AX*4), Z15
	VFMADD231PD Z11, Z14, Z15
	STORE512(Z15, Y15, (DI)(AX*4))
	ADDQ        $8, AX
	JMP         swibwdg512

swibwdg512done:
	VZEROUPPER
	RET

// func swigluBwdUpAVX512(dup, g, gate []float32)
TEXT ·swigluBwdUpAVX512(SB), NOSPLIT, $0-72
	MOVQ dup_base+0(FP), R9
	MOVQ dup_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ gate_base+48(FP), SI
	CONSTS512
	XORQ AX, AX

swibwdu512:
	CMPQ        AX, CX
	JAE         swibwdu512done
	VCVTPS2PD   (SI)(AX*4), Z0
	CORE512
	SIG512
	SILU512
	VCVTPS2PD   (DX)(AX*4), Z12
	VCVTPS2PD   (R9)(AX*4), Z13
	VFMADD231PD Z10, Z12, Z13
	STORE512(Z13, Y13, (R9)(AX*4))
	ADDQ        $8, AX
	JMP         swibwdu512

swibwdu512done:
	VZEROUPPER
	RET

// func expSubSumAVX512(dst, src []float32, shift float32) float64
//
// expLane on 8 lanes: x = src - shift in Z0; c in Z1, r in Z2, kb in Z3,
// n in Z4, p in Z5 and e^c in Z6. Z16 holds the partial sums, Z17 shift.
// Each src element is loaded before its dst element is stored.
TEXT ·expSubSumAVX512(SB), NOSPLIT, $0-64
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         src_base+24(FP), SI
	VCVTSS2SD    shift+48(FP), X0, X0
	VBROADCASTSD X0, Z17
	CONSTS512
	VPXORQ       Z16, Z16, Z16
	XORQ         AX, AX

expsum512:
	CMPQ        AX, CX
	JAE         expsum512done
	VCVTPS2PD   (SI)(AX*4), Z0
	VSUBPD      Z17, Z0, Z0
	VMAXPD      Z0, Z31, Z1
	VMINPD      Z1, Z30, Z1
	VMOVAPD     Z27, Z3
	VFMADD231PD Z28, Z1, Z3
	VSUBPD      Z27, Z3, Z4
	VMOVAPD     Z1, Z2
	VFMADD231PD Z26, Z4, Z2
	VMOVAPD     Z25, Z5
	VFMADD213PD Z24, Z2, Z5
	VFMADD213PD Z23, Z2, Z5
	VFMADD213PD Z22, Z2, Z5
	VFMADD213PD Z21, Z2, Z5
	VFMADD213PD Z20, Z2, Z5
	VFMADD213PD Z19, Z2, Z5
	VFMADD213PD Z19, Z2, Z5
	VSCALEFPD   Z4, Z5, Z6
	VCVTPD2PS   Z6, Y7
	VMOVUPS     Y7, (DI)(AX*4)
	VCVTPS2PD   Y7, Z8
	VADDPD      Z8, Z16, Z16
	ADDQ        $8, AX
	JMP         expsum512

expsum512done:
	// ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7))
	VMOVAPD       Z16, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VUNPCKHPD     X0, X0, X1
	VADDSD        X1, X0, X0
	MOVSD         X0, ret+56(FP)
	VZEROUPPER
	RET

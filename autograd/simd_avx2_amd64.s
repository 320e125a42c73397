#include "simd_amd64.h"

// AVX2 bodies of the float32 activation kernels, 4 elements a step.
//
// Y12-Y15 hold constants, the others come from memory. CORE2 is CORE512 on
// 4 lanes with the same registers for x, c, t/ts and q, and 2^n built in
// the exponent bits; after it Y2-Y5 are free.

#define CONSTS2 \
	VBROADCASTSD actMagic<>(SB), Y12; \
	VBROADCASTSD actOne<>(SB), Y13; \
	VBROADCASTSD actClamp<>(SB), Y14; \
	VBROADCASTSD actNegClamp<>(SB), Y15

#define CORE2 \
	VMAXPD      Y0, Y15, Y1; \
	VMINPD      Y1, Y14, Y1; \
	VORPD       actSign<>(SB), Y1, Y2; \
	VMOVAPD     Y12, Y3; \
	VFMADD231PD actLog2E<>(SB), Y2, Y3; \
	VSUBPD      Y12, Y3, Y4; \
	VFMADD231PD actNegLn2<>(SB), Y4, Y2; \
	VMOVUPD     actC7<>(SB), Y5; \
	VFMADD213PD actC6<>(SB), Y2, Y5; \
	VFMADD213PD actC5<>(SB), Y2, Y5; \
	VFMADD213PD actC4<>(SB), Y2, Y5; \
	VFMADD213PD actC3<>(SB), Y2, Y5; \
	VFMADD213PD actC2<>(SB), Y2, Y5; \
	VFMADD213PD Y13, Y2, Y5; \
	VFMADD213PD Y13, Y2, Y5; \
	VPADDQ      actBias<>(SB), Y3, Y3; \
	VPSLLQ      $52, Y3, Y3; \
	VMULPD      Y3, Y5, Y6; \
	VADDPD      Y13, Y6, Y7; \
	VDIVPD      Y7, Y13, Y7; \
	VMULPD      Y7, Y6, Y6

#define SIG2 \
	VCMPPD    $0x1d, actZero<>(SB), Y0, Y8; \
	VBLENDVPD Y8, Y7, Y6, Y8

#define DSIG2 \
	VMULPD Y7, Y6, Y9

#define SILU2 \
	VMAXPD Y0, Y15, Y10; \
	VMULPD Y8, Y10, Y10

#define DSILU2 \
	VMOVAPD     Y8, Y11; \
	VFMADD231PD Y9, Y1, Y11

#define STORE2(y, x, addr) \
	VCVTPD2PSY y, x; \
	VMOVUPS    x, addr

// func sigmoidFwdAVX2(out, x []float32)
TEXT ·sigmoidFwdAVX2(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	CONSTS2
	XORQ AX, AX

sigfwd2:
	CMPQ      AX, CX
	JAE       sigfwd2done
	VCVTPS2PD (SI)(AX*4), Y0
	CORE2
	SIG2
	STORE2(Y8, X8, (DI)(AX*4))
	ADDQ      $4, AX
	JMP       sigfwd2

sigfwd2done:
	VZEROUPPER
	RET

// func siluFwdAVX2(out, x []float32)
TEXT ·siluFwdAVX2(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	CONSTS2
	XORQ AX, AX

silufwd2:
	CMPQ      AX, CX
	JAE       silufwd2done
	VCVTPS2PD (SI)(AX*4), Y0
	CORE2
	SIG2
	SILU2
	STORE2(Y10, X10, (DI)(AX*4))
	ADDQ      $4, AX
	JMP       silufwd2

silufwd2done:
	VZEROUPPER
	RET

// func sigmoidBwdAVX2(dx, g, x []float32)
TEXT ·sigmoidBwdAVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ x_base+48(FP), SI
	CONSTS2
	XORQ AX, AX

sigbwd2:
	CMPQ        AX, CX
	JAE         sigbwd2done
	VCVTPS2PD   (SI)(AX*4), Y0
	CORE2
	DSIG2
	VCVTPS2PD   (DX)(AX*4), Y2
	VCVTPS2PD   (DI)(AX*4), Y3
	VFMADD231PD Y9, Y2, Y3
	STORE2(Y3, X3, (DI)(AX*4))
	ADDQ        $4, AX
	JMP         sigbwd2

sigbwd2done:
	VZEROUPPER
	RET

// func siluBwdAVX2(dx, g, x []float32)
TEXT ·siluBwdAVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ x_base+48(FP), SI
	CONSTS2
	XORQ AX, AX

silubwd2:
	CMPQ        AX, CX
	JAE         silubwd2done
	VCVTPS2PD   (SI)(AX*4), Y0
	CORE2
	SIG2
	DSIG2
	DSILU2
	VCVTPS2PD   (DX)(AX*4), Y2
	VCVTPS2PD   (DI)(AX*4), Y3
	VFMADD231PD Y11, Y2, Y3
	STORE2(Y3, X3, (DI)(AX*4))
	ADDQ        $4, AX
	JMP         silubwd2

silubwd2done:
	VZEROUPPER
	RET

// func swigluFwdAVX2(out, gate, up []float32)
TEXT ·swigluFwdAVX2(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ gate_base+24(FP), SI
	MOVQ up_base+48(FP), R8
	CONSTS2
	XORQ AX, AX

swifwd2:
	CMPQ      AX, CX
	JAE       swifwd2done
	VCVTPS2PD (SI)(AX*4), Y0
	CORE2
	SIG2
	SILU2
	VCVTPS2PD (R8)(AX*4), Y2
	VMULPD    Y2, Y10, Y10
	STORE2(Y10, X10, (DI)(AX*4))
	ADDQ      $4, AX
	JMP       swifwd2

swifwd2done:
	VZEROUPPER
	RET

// func swigluBwdAVX2(dgate, dup, g, gate, up []float32, overwrite bool)
//
// dup is stored before dgate is loaded, so the two may be the same slice
// (not with overwrite, which writes both as if they held zeros).
TEXT ·swigluBwdAVX2(SB), NOSPLIT, $0-121
	MOVQ    dgate_base+0(FP), DI
	MOVQ    dgate_len+8(FP), CX
	MOVQ    dup_base+24(FP), R9
	MOVQ    g_base+48(FP), DX
	MOVQ    gate_base+72(FP), SI
	MOVQ    up_base+96(FP), R8
	MOVBLZX overwrite+120(FP), BX
	CONSTS2
	XORQ    AX, AX

swibwd2:
	CMPQ        AX, CX
	JAE         swibwd2done
	VCVTPS2PD   (SI)(AX*4), Y0
	CORE2
	SIG2
	DSIG2
	SILU2
	DSILU2
	VCVTPS2PD   (DX)(AX*4), Y2
	VCVTPS2PD   (R8)(AX*4), Y4
	VMULPD      Y4, Y2, Y4
	TESTQ       BX, BX
	JNZ         swibwd2write
	VCVTPS2PD   (R9)(AX*4), Y3
	VFMADD231PD Y10, Y2, Y3
	STORE2(Y3, X3, (R9)(AX*4))
	VCVTPS2PD   (DI)(AX*4), Y5
	VFMADD231PD Y11, Y4, Y5
	STORE2(Y5, X5, (DI)(AX*4))
	ADDQ        $4, AX
	JMP         swibwd2

swibwd2write: // the products alone: what the FMAs give onto zeros
	VMULPD      Y10, Y2, Y3
	STORE2(Y3, X3, (R9)(AX*4))
	VMULPD      Y11, Y4, Y5
	STORE2(Y5, X5, (DI)(AX*4))
	ADDQ        $4, AX
	JMP         swibwd2

swibwd2done:
	VZEROUPPER
	RET

// func swigluBwdGateAVX2(dgate, g, gate, up []float32)
TEXT ·swigluBwdGateAVX2(SB), NOSPLIT, $0-96
	MOVQ dgate_base+0(FP), DI
	MOVQ dgate_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ gate_base+48(FP), SI
	MOVQ up_base+72(FP), R8
	CONSTS2
	XORQ AX, AX

swibwdg2:
	CMPQ        AX, CX
	JAE         swibwdg2done
	VCVTPS2PD   (SI)(AX*4), Y0
	CORE2
	SIG2
	DSIG2
	DSILU2
	VCVTPS2PD   (DX)(AX*4), Y2
	VCVTPS2PD   (R8)(AX*4), Y4
	VMULPD      Y4, Y2, Y4
	VCVTPS2PD   (DI)(AX*4), Y5
	VFMADD231PD Y11, Y4, Y5
	STORE2(Y5, X5, (DI)(AX*4))
	ADDQ        $4, AX
	JMP         swibwdg2

swibwdg2done:
	VZEROUPPER
	RET

// func swigluBwdUpAVX2(dup, g, gate []float32)
TEXT ·swigluBwdUpAVX2(SB), NOSPLIT, $0-72
	MOVQ dup_base+0(FP), R9
	MOVQ dup_len+8(FP), CX
	MOVQ g_base+24(FP), DX
	MOVQ gate_base+48(FP), SI
	CONSTS2
	XORQ AX, AX

swibwdu2:
	CMPQ        AX, CX
	JAE         swibwdu2done
	VCVTPS2PD   (SI)(AX*4), Y0
	CORE2
	SIG2
	SILU2
	VCVTPS2PD   (DX)(AX*4), Y2
	VCVTPS2PD   (R9)(AX*4), Y3
	VFMADD231PD Y10, Y2, Y3
	STORE2(Y3, X3, (R9)(AX*4))
	ADDQ        $4, AX
	JMP         swibwdu2

swibwdu2done:
	VZEROUPPER
	RET

// EXP2 is expLane on 4 lanes: x in Y0, c in Y1, r in Y2, kb and then 2^n in
// Y3, n in Y4, p in Y5 and e^c in Y6.
#define EXP2 \
	VMAXPD      Y0, Y15, Y1; \
	VMINPD      Y1, Y14, Y1; \
	VMOVAPD     Y12, Y3; \
	VFMADD231PD actLog2E<>(SB), Y1, Y3; \
	VSUBPD      Y12, Y3, Y4; \
	VMOVAPD     Y1, Y2; \
	VFMADD231PD actNegLn2<>(SB), Y4, Y2; \
	VMOVUPD     actC7<>(SB), Y5; \
	VFMADD213PD actC6<>(SB), Y2, Y5; \
	VFMADD213PD actC5<>(SB), Y2, Y5; \
	VFMADD213PD actC4<>(SB), Y2, Y5; \
	VFMADD213PD actC3<>(SB), Y2, Y5; \
	VFMADD213PD actC2<>(SB), Y2, Y5; \
	VFMADD213PD Y13, Y2, Y5; \
	VFMADD213PD Y13, Y2, Y5; \
	VPADDQ      actBias<>(SB), Y3, Y3; \
	VPSLLQ      $52, Y3, Y3; \
	VMULPD      Y3, Y5, Y6

// func expSubSumAVX2(dst, src []float32, shift float32) float64
//
// 8 elements a step in two halves: Y10 sums lanes 0-3, Y11 lanes 4-7, as
// the 8 lanes of the AVX-512 kernel; Y9 holds shift. Each src element is
// loaded before its dst element is stored.
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-64
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         src_base+24(FP), SI
	VCVTSS2SD    shift+48(FP), X9, X9
	VBROADCASTSD X9, Y9
	CONSTS2
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	XORQ         AX, AX

expsum2:
	CMPQ       AX, CX
	JAE        expsum2done
	VCVTPS2PD  (SI)(AX*4), Y0
	VSUBPD     Y9, Y0, Y0
	EXP2
	VCVTPD2PSY Y6, X7
	VMOVUPS    X7, (DI)(AX*4)
	VCVTPS2PD  X7, Y7
	VADDPD     Y7, Y10, Y10
	VCVTPS2PD  16(SI)(AX*4), Y0
	VSUBPD     Y9, Y0, Y0
	EXP2
	VCVTPD2PSY Y6, X7
	VMOVUPS    X7, 16(DI)(AX*4)
	VCVTPS2PD  X7, Y7
	VADDPD     Y7, Y11, Y11
	ADDQ       $8, AX
	JMP        expsum2

expsum2done:
	// ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7))
	VADDPD       Y11, Y10, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0
	MOVSD        X0, ret+56(FP)
	VZEROUPPER
	RET

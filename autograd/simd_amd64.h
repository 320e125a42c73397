// Shared by the assembly files of the float32 activation kernels
// (activation_f32.go states the method) and of expSubSumF32
// (attention_kernel.go): inputs widen to float64 lanes, each
// op matches the scalar Go kernels' op for op, and results round once to
// float32. Lengths are exact multiples of the lane count.

#include "textflag.h"

// Constants, 4 copies each: AVX2 code reads them as 256-bit memory operands,
// AVX-512 code broadcasts the first.
#define CONST4(name, bits) \
	DATA name<>+0(SB)/8, bits; \
	DATA name<>+8(SB)/8, bits; \
	DATA name<>+16(SB)/8, bits; \
	DATA name<>+24(SB)/8, bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST4(actNegClamp, $0xc05e000000000000) // -120
CONST4(actClamp, $0x405e000000000000)    // 120
CONST4(actSign, $0x8000000000000000)
CONST4(actMagic, $0x4338000000000000)    // 1.5 * 2^52
CONST4(actLog2E, $0x3ff71547652b82fe)
CONST4(actNegLn2, $0xbfe62e42fefa39ef)
CONST4(actC7, $0x3f2a01a01a01a01a)       // 1/5040
CONST4(actC6, $0x3f56c16c16c16c17)       // 1/720
CONST4(actC5, $0x3f81111111111111)       // 1/120
CONST4(actC4, $0x3fa5555555555555)       // 1/24
CONST4(actC3, $0x3fc5555555555555)       // 1/6
CONST4(actC2, $0x3fe0000000000000)       // 1/2
CONST4(actOne, $0x3ff0000000000000)
CONST4(actZero, $0)
CONST4(actBias, $1023)

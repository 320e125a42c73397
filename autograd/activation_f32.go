package autograd

import "math"

// The float32 activation kernels. Each evaluates in float64 and rounds once
// to float32 on the way out, so every result is within about half a float32
// unit in the last place of the exact one (0.58 to 0.66 ulp at worst on
// TestActKernelsSweep), and the vector kernels (simd_avx512_amd64.s with 8
// float64 lanes, simd_avx2_amd64.s with 4) agree bit for bit with the scalar
// Go ones below, which run the same operations in the same order: a model
// computes the same numbers on every CPU, and the scalar code can finish
// the few elements of a slice past its last whole vector.
//
// For c = clamp(x, -actClamp, actClamp):
//
//	t = e^-|c|: n = round(-|c| log2 e), r = -|c| - n ln2 (|r| <= ln2/2),
//	      the degree-7 Taylor polynomial of e^r (relative error below 7.1e-9)
//	      scaled by 2^n through the exponent bits (2^-174 is a normal float64)
//	q     = 1 / (1 + t)          sigmoid(|c|)
//	ts    = t q                  sigmoid(-|c|)
//	sig   = q if x >= 0 else ts  sigmoid(x)
//	dsig  = ts q                 sigmoid'(x) = sigmoid(x) sigmoid(-x)
//	silu  = max(x, -actClamp) sig
//	dsilu = sig + c dsig         silu'(x) = sigmoid(x) (1 + x sigmoid(-x))
//
// Nothing overflows, so saturation is exact and free of NaN: beyond the
// clamp the float32 results are 0, 1 or x (silu of +Inf is +Inf, of -Inf
// -0), and NaN in gives NaN out. Gradients accumulate with one rounding:
// dx = float32(dx + g d) by a float64 fused multiply-add.

// actSIMDLevel names the vector instruction set of the float32 activation
// kernels.
type actSIMDLevel int

const (
	actSIMDNone   actSIMDLevel = iota // scalar Go only
	actSIMDAVX2                       // AVX2 and FMA, 4 float64 lanes
	actSIMDAVX512                     // AVX-512F, 8 float64 lanes
)

// actClamp bounds |x| in the float32 kernels: e^-120 and 120 e^-120 round to
// 0 in float32, so clamping changes no result.
const actClamp = 120

// actRoundMagic is 1.5 * 2^52: adding it to a float64 of magnitude below 2^51
// rounds to an integer (half to even) held in the low mantissa bits.
const actRoundMagic = 0x1.8p52

// actExpNeg returns c = clamp(x, -actClamp, actClamp) and t = e^-|c|, by the
// same steps as the vector kernels (expLane).
func actExpNeg(x float64) (c, t float64) {
	c = min(max(x, -actClamp), actClamp)
	return c, expLane(-math.Abs(c))
}

// actSig returns c = clamp(x, -actClamp, actClamp), sigmoid(x) and
// sigmoid'(x) as the float32 kernels compute them, before rounding.
func actSig(x float64) (c, sig, dsig float64) {
	c, t := actExpNeg(x)
	q := 1 / (1 + t)
	ts := t * q
	sig = ts
	if x >= 0 {
		sig = q
	}
	return c, sig, ts * q
}

// actSiLU returns silu(x) from sigmoid(x) as the float32 kernels do.
func actSiLU(x, sig float64) float64 { return max(x, -actClamp) * sig }

// actSiLUGrad32 returns silu'(x) from c, sigmoid(x) and sigmoid'(x) as the
// float32 kernels do.
func actSiLUGrad32(c, sig, dsig float64) float64 { return math.FMA(c, dsig, sig) }

// sigmoidFwdF32 sets out = sigmoid(x); len(x) >= len(out).
func sigmoidFwdF32(out, x []float32) {
	x = x[:len(out)]
	i := sigmoidFwdVec(out, x)
	for ; i < len(out); i++ {
		_, sig, _ := actSig(float64(x[i]))
		out[i] = float32(sig)
	}
}

// sigmoidBwdF32 accumulates dx += g sigmoid'(x); len(g), len(x) >= len(dx).
func sigmoidBwdF32(dx, g, x []float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	i := sigmoidBwdVec(dx, g, x)
	for ; i < len(dx); i++ {
		_, _, dsig := actSig(float64(x[i]))
		dx[i] = float32(math.FMA(float64(g[i]), dsig, float64(dx[i])))
	}
}

// siluFwdF32 sets out = silu(x); len(x) >= len(out).
func siluFwdF32(out, x []float32) {
	x = x[:len(out)]
	i := siluFwdVec(out, x)
	for ; i < len(out); i++ {
		v := float64(x[i])
		_, sig, _ := actSig(v)
		out[i] = float32(actSiLU(v, sig))
	}
}

// siluBwdF32 accumulates dx += g silu'(x); len(g), len(x) >= len(dx).
func siluBwdF32(dx, g, x []float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	i := siluBwdVec(dx, g, x)
	for ; i < len(dx); i++ {
		dsilu := actSiLUGrad32(actSig(float64(x[i])))
		dx[i] = float32(math.FMA(float64(g[i]), dsilu, float64(dx[i])))
	}
}

// swigluFwdF32 sets out = silu(gate) up; len(gate), len(up) >= len(out).
func swigluFwdF32(out, gate, up []float32) {
	gate, up = gate[:len(out)], up[:len(out)]
	i := swigluFwdVec(out, gate, up)
	for ; i < len(out); i++ {
		v := float64(gate[i])
		_, sig, _ := actSig(v)
		out[i] = float32(actSiLU(v, sig) * float64(up[i]))
	}
}

// swigluBwdF32 accumulates dup += g silu(gate) and dgate += g up silu'(gate);
// len(dup), len(g), len(gate), len(up) >= len(dgate). dgate and dup may be
// the same slice (gate and up the same tensor): dup's update lands first.
// With overwrite it writes the terms alone, what it would give onto zeros
// (but a zero term's sign is kept), and dgate and dup must not overlap.
func swigluBwdF32(dgate, dup, g, gate, up []float32, overwrite bool) {
	n := len(dgate)
	dup, g, gate, up = dup[:n], g[:n], gate[:n], up[:n]
	i := swigluBwdVec(dgate, dup, g, gate, up, overwrite)
	for ; i < n; i++ {
		v, gi := float64(gate[i]), float64(g[i])
		c, sig, dsig := actSig(v)
		gu := gi * float64(up[i]) // exact in float64
		if overwrite {
			dup[i], dgate[i] = float32(gi*actSiLU(v, sig)), float32(gu*actSiLUGrad32(c, sig, dsig))
			continue
		}
		dup[i] = float32(math.FMA(gi, actSiLU(v, sig), float64(dup[i])))
		dgate[i] = float32(math.FMA(gu, actSiLUGrad32(c, sig, dsig), float64(dgate[i])))
	}
}

// swigluBwdGateF32 accumulates dgate += g up silu'(gate) alone (up needs no
// gradient); len(g), len(gate), len(up) >= len(dgate).
func swigluBwdGateF32(dgate, g, gate, up []float32) {
	n := len(dgate)
	g, gate, up = g[:n], gate[:n], up[:n]
	i := swigluBwdGateVec(dgate, g, gate, up)
	for ; i < n; i++ {
		dsilu := actSiLUGrad32(actSig(float64(gate[i])))
		dgate[i] = float32(math.FMA(float64(g[i])*float64(up[i]), dsilu, float64(dgate[i])))
	}
}

// swigluBwdUpF32 accumulates dup += g silu(gate) alone (gate needs no
// gradient); len(g), len(gate) >= len(dup).
func swigluBwdUpF32(dup, g, gate []float32) {
	n := len(dup)
	g, gate = g[:n], gate[:n]
	i := swigluBwdUpVec(dup, g, gate)
	for ; i < n; i++ {
		v := float64(gate[i])
		_, sig, _ := actSig(v)
		dup[i] = float32(math.FMA(float64(g[i]), actSiLU(v, sig), float64(dup[i])))
	}
}

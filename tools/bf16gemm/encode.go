package main

import "fmt"

// gprNum numbers the 64-bit general registers by their Go assembler names.
var gprNum = map[string]int{
	"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15,
}

// mem is a memory operand base + index·scale + disp, read as one dword
// broadcast to all 16 lanes ({1to16}). index "" means none.
type mem struct {
	base  string
	index string
	scale int // 1, 2, 4 or 8; ignored without an index
	disp  int
}

// goSyntax writes m as the Go assembler would: disp(base)(index*scale).
func (m mem) goSyntax() string {
	s := fmt.Sprintf("(%s)", m.base)
	if m.disp != 0 {
		s = fmt.Sprintf("%d%s", m.disp, s)
	}
	if m.index != "" {
		s += fmt.Sprintf("(%s*%d)", m.index, m.scale)
	}
	return s
}

// evexDPBF16PS returns the four-byte EVEX prefix and opcode of
// VDPBF16PS (EVEX.512.F3.0F38.W0 52 /r) with destination zmm dst, first
// source zmm src1 (EVEX.vvvv) and the inverted register-extension bits
// rxb (R, X, B of the ModRM.rm operand) given by the caller; bcst sets
// EVEX.b (the m32bcst form).
func evexDPBF16PS(dst, src1 int, x, b byte, bcst bool) []byte {
	r := ^byte(dst>>3) & 1
	rr := ^byte(dst>>4) & 1
	p0 := r<<7 | x<<6 | b<<5 | rr<<4 | 0x2 // map 0F38
	vvvv := ^byte(src1) & 0xf
	p1 := vvvv<<3 | 1<<2 | 0x2 // W0, pp = F3
	vv := ^byte(src1>>4) & 1
	p2 := byte(0x2)<<5 | vv<<3 // L'L = 512, no mask, no zeroing
	if bcst {
		p2 |= 1 << 4
	}
	return []byte{0x62, p0, p1, p2, 0x52}
}

// encodeDPBF16PSReg encodes VDPBF16PS zmm src2, zmm src1, zmm dst (Go
// operand order: dst += pairwise dot products of src1 and src2).
func encodeDPBF16PSReg(src2, src1, dst int) ([]byte, error) {
	for _, z := range []int{src2, src1, dst} {
		if z < 0 || z > 31 {
			return nil, fmt.Errorf("register Z%d does not exist; use Z0-Z31", z)
		}
	}
	x := ^byte(src2>>4) & 1
	b := ^byte(src2>>3) & 1
	out := evexDPBF16PS(dst, src1, x, b, false)
	return append(out, 0xc0|byte(dst&7)<<3|byte(src2&7)), nil
}

// encodeDPBF16PSBcst encodes VDPBF16PS.BCST m, zmm src1, zmm dst: the dword
// at m (a pair of bfloat16) broadcast to all lanes as the second source.
func encodeDPBF16PSBcst(m mem, src1, dst int) ([]byte, error) {
	if src1 < 0 || src1 > 31 || dst < 0 || dst > 31 {
		return nil, fmt.Errorf("registers Z%d, Z%d: use Z0-Z31", src1, dst)
	}
	base, ok := gprNum[m.base]
	if !ok {
		return nil, fmt.Errorf("base register %q is not a 64-bit general register", m.base)
	}
	index := 4 // none
	if m.index != "" {
		var ok bool
		if index, ok = gprNum[m.index]; !ok || index == 4 {
			return nil, fmt.Errorf("index register %q is not a 64-bit general register other than SP", m.index)
		}
	}
	scaleBits := map[int]byte{1: 0, 2: 1, 4: 2, 8: 3}
	ss, ok := scaleBits[m.scale]
	if m.index != "" && !ok {
		return nil, fmt.Errorf("scale %d: use 1, 2, 4 or 8", m.scale)
	}
	// Displacement: none, disp8 scaled by the 4-byte broadcast element
	// (EVEX compressed displacement), or disp32. A base of BP or R13
	// needs a displacement byte even when it is zero.
	var mod byte
	var dispBytes []byte
	switch {
	case m.disp == 0 && base&7 != 5:
		mod = 0
	case m.disp%4 == 0 && m.disp/4 >= -128 && m.disp/4 <= 127:
		mod, dispBytes = 1, []byte{byte(int8(m.disp / 4))}
	default:
		d := uint32(int32(m.disp))
		mod, dispBytes = 2, []byte{byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24)}
	}
	x := ^byte(index>>3) & 1
	b := ^byte(base>>3) & 1
	out := evexDPBF16PS(dst, src1, x, b, true)
	reg := byte(dst&7) << 3
	if m.index == "" && base&7 != 4 {
		out = append(out, mod<<6|reg|byte(base&7))
	} else { // SIB byte: always for an index, and for a base of SP or R12
		if m.index == "" {
			ss = 0
		}
		out = append(out, mod<<6|reg|4, ss<<6|byte(index&7)<<3|byte(base&7))
	}
	return append(out, dispBytes...), nil
}

package main

import (
	"fmt"
	"strconv"
	"strings"
)

// insn describes one EVEX-encoded instruction the generator knows: its
// mandatory prefix (EVEX.pp), opcode in the 0F38 map, whether it takes a
// second source in EVEX.vvvv, and the register class of its destination.
type insn struct {
	pp     byte // 1: 66, 2: F3, 3: F2
	opcode byte
	nds    bool // has a vvvv source operand
	dstY   bool // destination is a YMM register, else ZMM
}

// insns are the AVX512-BF16 instructions, all EVEX.512.0F38.W0, that the Go
// assembler has no mnemonic for.
var insns = map[string]insn{
	"VCVTNE2PS2BF16": {pp: 3, opcode: 0x72, nds: true},  // EVEX.512.F2.0F38.W0 72 /r
	"VCVTNEPS2BF16":  {pp: 2, opcode: 0x72, dstY: true}, // EVEX.512.F3.0F38.W0 72 /r
	"VDPBF16PS":      {pp: 2, opcode: 0x52, nds: true},  // EVEX.512.F3.0F38.W0 52 /r
}

// gpr numbers the 64-bit general registers by their Go assembler names.
var gpr = map[string]int{
	"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15,
}

// operand is a parsed register or base+displacement memory operand.
type operand struct {
	mem  bool
	reg  int   // vector register number, or the base register for mem
	disp int64 // mem only
}

// encode assembles one instruction written in Go assembler operand order
// (sources first, destination last), e.g. "VCVTNE2PS2BF16 Z0, Z1, Z2" or
// "VDPBF16PS.BCST 8(SI), Z4, Z5", into its bytes. The first source may be a
// ZMM register or a memory operand off(BASE) with no index; .BCST broadcasts
// a 32-bit memory element. Masking is not supported.
func encode(text string) ([]byte, error) {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty instruction; write a mnemonic and its operands")
	}
	mnem, bcst := fields[0], false
	if m, ok := strings.CutSuffix(mnem, ".BCST"); ok {
		mnem, bcst = m, true
	}
	in, ok := insns[mnem]
	if !ok {
		return nil, fmt.Errorf("unknown mnemonic %q; known: VCVTNE2PS2BF16, VCVTNEPS2BF16, VDPBF16PS", fields[0])
	}
	args := strings.Split(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), fields[0])), ",")
	want := 2
	if in.nds {
		want = 3
	}
	if len(args) != want {
		return nil, fmt.Errorf("%s takes %d operands, got %d in %q", mnem, want, len(args), text)
	}
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	src, err := parseRM(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s first operand: %w", mnem, err)
	}
	if bcst && !src.mem {
		return nil, fmt.Errorf("%s.BCST needs a memory first operand, got %q", mnem, args[0])
	}
	vvvv := 0
	if in.nds {
		if vvvv, err = parseVec(args[1], 'Z'); err != nil {
			return nil, fmt.Errorf("%s second operand: %w", mnem, err)
		}
	}
	dstClass := byte('Z')
	if in.dstY {
		dstClass = 'Y'
	}
	dst, err := parseVec(args[len(args)-1], dstClass)
	if err != nil {
		return nil, fmt.Errorf("%s destination: %w", mnem, err)
	}
	return assemble(in, src, vvvv, dst, bcst), nil
}

// assemble lays out the EVEX prefix, opcode, ModRM, SIB and displacement.
func assemble(in insn, rm operand, vvvv, reg int, bcst bool) []byte {
	inv := func(v int, bit uint) byte { return byte(^v>>bit) & 1 }
	// P0: R X B R' 0 0 m m, the register extension bits inverted; map 0F38.
	p0 := inv(reg, 3)<<7 | inv(reg, 4)<<4 | 0b10
	if rm.mem {
		p0 |= 1<<6 | inv(rm.reg, 3)<<5 // no index register
	} else {
		p0 |= inv(rm.reg, 4)<<6 | inv(rm.reg, 3)<<5
	}
	// P1: W vvvv 1 pp, vvvv inverted (1111 when unused).
	p1 := byte(^vvvv&0xf)<<3 | 1<<2 | in.pp
	// P2: z L'L b V' aaa: 512-bit length, no masking.
	p2 := byte(0b10<<5) | inv(vvvv, 4)<<3
	if bcst {
		p2 |= 1 << 4
	}
	out := []byte{0x62, p0, p1, p2, in.opcode}
	if !rm.mem {
		return append(out, 0xc0|byte(reg&7)<<3|byte(rm.reg&7))
	}
	// Compressed disp8 scales by the memory operand's size: a full 64-byte
	// vector, or one 32-bit element when broadcast.
	n := int64(64)
	if bcst {
		n = 4
	}
	base := byte(rm.reg & 7)
	var mod byte
	var disp []byte
	switch {
	case rm.disp == 0 && base != 5: // BP and R13 need a displacement
		mod = 0
	case rm.disp%n == 0 && rm.disp/n >= -128 && rm.disp/n <= 127:
		mod, disp = 1, []byte{byte(int8(rm.disp / n))}
	default:
		d := uint32(int32(rm.disp))
		mod, disp = 2, []byte{byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24)}
	}
	out = append(out, mod<<6|byte(reg&7)<<3|base)
	if base == 4 { // SP and R12 need a SIB byte: no index, that base
		out = append(out, 0x24)
	}
	return append(out, disp...)
}

// parseVec parses a vector register name of the class ('Z' or 'Y'), 0..31.
func parseVec(s string, class byte) (int, error) {
	if len(s) < 2 || s[0] != class {
		return 0, fmt.Errorf("want a %c register (%c0..%c31), got %q", class, class, class, s)
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n > 31 {
		return 0, fmt.Errorf("want a %c register (%c0..%c31), got %q", class, class, class, s)
	}
	return n, nil
}

// parseRM parses a ZMM register or a memory operand off(BASE).
func parseRM(s string) (operand, error) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		r, err := parseVec(s, 'Z')
		return operand{reg: r}, err
	}
	if !strings.HasSuffix(s, ")") {
		return operand{}, fmt.Errorf("memory operand %q: want off(BASE), e.g. 64(SI)", s)
	}
	base, ok := gpr[s[open+1:len(s)-1]]
	if !ok {
		return operand{}, fmt.Errorf("memory operand %q: base must be one of AX..DI, R8..R15 (no index)", s)
	}
	var disp int64
	if open > 0 {
		d, err := strconv.ParseInt(s[:open], 0, 32)
		if err != nil {
			return operand{}, fmt.Errorf("memory operand %q: displacement must be a 32-bit integer: %w", s, err)
		}
		disp = d
	}
	return operand{mem: true, reg: base, disp: disp}, nil
}

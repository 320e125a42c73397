package main

// Mutations caught: dropping EVEX.b (the broadcast bit) in evexDPBF16PS
// makes TestEncodeKnown and TestEncodeMatchesLLVM fail; encoding the SIB
// byte's index and base fields swapped makes TestEncodeKnown fail; not
// inverting EVEX.V' makes both fail for Z24-Z27 sources; editing the
// committed assembly by hand makes TestGeneratedFileUpToDate fail.

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestEncodeKnown checks encodings worked out by hand from the Intel SDM's
// EVEX layout (and confirmed with llvm-mc).
func TestEncodeKnown(t *testing.T) {
	for _, tc := range []struct {
		m         mem
		src1, dst int
		want      []byte
	}{
		// vdpbf16ps (%rsi){1to16}, %zmm24, %zmm0
		{mem{base: "SI"}, 24, 0, []byte{0x62, 0xf2, 0x3e, 0x50, 0x52, 0x06}},
		// vdpbf16ps 4(%rsi,%rdx,2){1to16}, %zmm27, %zmm11: compressed disp8 = 1
		{mem{base: "SI", index: "DX", scale: 2, disp: 4}, 27, 11, []byte{0x62, 0x72, 0x26, 0x50, 0x52, 0x5c, 0x56, 0x01}},
		// vdpbf16ps (%rdi,%rdx){1to16}, %zmm25, %zmm21
		{mem{base: "DI", index: "DX", scale: 1}, 25, 21, []byte{0x62, 0xe2, 0x36, 0x50, 0x52, 0x2c, 0x17}},
		// vdpbf16ps (%r13){1to16}, %zmm1, %zmm2: R13 as base needs a disp8 of 0
		{mem{base: "R13"}, 1, 2, []byte{0x62, 0xd2, 0x76, 0x58, 0x52, 0x55, 0x00}},
		// vdpbf16ps 6(%rsi){1to16}, %zmm1, %zmm2: not a multiple of 4, disp32
		{mem{base: "SI", disp: 6}, 1, 2, []byte{0x62, 0xf2, 0x76, 0x58, 0x52, 0x96, 0x06, 0x00, 0x00, 0x00}},
	} {
		got, err := encodeDPBF16PSBcst(tc.m, tc.src1, tc.dst)
		if err != nil {
			t.Fatalf("%s, Z%d, Z%d: %v", tc.m.goSyntax(), tc.src1, tc.dst, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s, Z%d, Z%d: got % x, want % x", tc.m.goSyntax(), tc.src1, tc.dst, got, tc.want)
		}
	}
	// vdpbf16ps %zmm28, %zmm27, %zmm23
	got, err := encodeDPBF16PSReg(28, 27, 23)
	want := []byte{0x62, 0x82, 0x26, 0x40, 0x52, 0xfc}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Z28, Z27, Z23: got % x (%v), want % x", got, err, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := encodeDPBF16PSReg(32, 0, 0); err == nil {
		t.Error("Z32 accepted")
	}
	if _, err := encodeDPBF16PSBcst(mem{base: "XX"}, 0, 0); err == nil {
		t.Error("base XX accepted")
	}
	if _, err := encodeDPBF16PSBcst(mem{base: "SI", index: "SP", scale: 1}, 0, 0); err == nil {
		t.Error("index SP accepted")
	}
	if _, err := encodeDPBF16PSBcst(mem{base: "SI", index: "DX", scale: 3}, 0, 0); err == nil {
		t.Error("scale 3 accepted")
	}
}

var byteLine = regexp.MustCompile(`^\t(BYTE \$0x[0-9a-f]{2}(?:; BYTE \$0x[0-9a-f]{2})*) // (VDPBF16PS(?:\.BCST)?) (.*)$`)

// attReg names a 64-bit general register in AT&T syntax: SI is %rsi, R11
// is %r11.
func attReg(r string) string {
	if strings.HasPrefix(r, "R") {
		return "%" + strings.ToLower(r)
	}
	return "%r" + strings.ToLower(r)
}

// attSyntax turns a comment's Go operands into llvm-mc's AT&T text.
func attSyntax(op, operands string) string {
	parts := strings.Split(operands, ", ")
	for i, p := range parts {
		if strings.HasPrefix(p, "Z") {
			parts[i] = "%zmm" + p[1:]
			continue
		}
		// disp(base)(index*scale)
		m := regexp.MustCompile(`^(-?\d*)\((\w+)\)(?:\((\w+)\*(\d)\))?$`).FindStringSubmatch(p)
		s := m[1] + "(" + attReg(m[2])
		if m[3] != "" {
			s += "," + attReg(m[3])
			if m[4] != "1" {
				s += "," + m[4]
			}
		}
		parts[i] = s + ")"
		if op == "VDPBF16PS.BCST" {
			parts[i] += "{1to16}"
		}
	}
	return "vdpbf16ps " + strings.Join(parts, ", ")
}

// TestEncodeMatchesLLVM disassembles every VDPBF16PS the generator writes
// with llvm-mc and checks it is the instruction its comment names.
func TestEncodeMatchesLLVM(t *testing.T) {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc is not installed; TestEncodeKnown still checks fixed encodings")
	}
	src, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	var input strings.Builder
	var want []string
	for _, l := range strings.Split(string(src), "\n") {
		m := byteLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		input.WriteString(strings.NewReplacer("BYTE $", "", ";", "").Replace(m[1]) + "\n")
		want = append(want, attSyntax(m[2], m[3]))
	}
	if len(want) == 0 {
		t.Fatal("no VDPBF16PS lines in the generated file")
	}
	cmd := exec.Command(mc, "--disassemble", "-triple=x86_64", "-mattr=+avx512bf16")
	cmd.Stdin = strings.NewReader(input.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out)
	}
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "vdpbf16ps") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("llvm-mc decoded %d VDPBF16PS, the file has %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("instruction %d: llvm-mc reads %q, the comment says %q", i, got[i], want[i])
		}
	}
	t.Logf("%d instructions checked", len(want))
}

// TestGeneratedFileUpToDate checks the committed kernels are this
// generator's output.
func TestGeneratedFileUpToDate(t *testing.T) {
	const path = "../../autograd/bf16_gemm_amd64.s"
	var stderr bytes.Buffer
	if st := run([]string{"-check", "-o", path}, &stderr); st != 0 {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		t.Fatalf("exit %d: %s", st, stderr.String())
	}
}

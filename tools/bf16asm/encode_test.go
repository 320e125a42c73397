// Mutations caught: inverting EVEX.X for a register source (p0 bit 6) makes
// TestEncode fail on Z17; dropping the SIB byte for SP/R12 bases fails the R12
// case; scaling disp8 by 64 when broadcasting fails the .BCST case; forcing
// mod 00 for BP/R13 fails the R13 case; swapping vvvv and rm fails every
// three-operand case; leaving the .s file stale makes TestKernelFileUpToDate
// fail.
package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestEncode checks encodings against those of the LLVM assembler (llvm-mc
// -show-encoding), written in AT&T order in the comments.
func TestEncode(t *testing.T) {
	cases := []struct {
		text string
		want []byte
	}{
		// vcvtne2ps2bf16 %zmm0, %zmm1, %zmm2
		{"VCVTNE2PS2BF16 Z0, Z1, Z2", []byte{0x62, 0xf2, 0x77, 0x48, 0x72, 0xd0}},
		// vcvtne2ps2bf16 %zmm17, %zmm30, %zmm9
		{"VCVTNE2PS2BF16 Z17, Z30, Z9", []byte{0x62, 0x32, 0x0f, 0x40, 0x72, 0xc9}},
		// vcvtneps2bf16 %zmm0, %ymm0
		{"VCVTNEPS2BF16 Z0, Y0", []byte{0x62, 0xf2, 0x7e, 0x48, 0x72, 0xc0}},
		// vcvtneps2bf16 %zmm25, %ymm12
		{"VCVTNEPS2BF16 Z25, Y12", []byte{0x62, 0x12, 0x7e, 0x48, 0x72, 0xe1}},
		// vdpbf16ps %zmm3, %zmm4, %zmm5
		{"VDPBF16PS Z3, Z4, Z5", []byte{0x62, 0xf2, 0x5e, 0x48, 0x52, 0xeb}},
		// vdpbf16ps %zmm23, %zmm14, %zmm31
		{"VDPBF16PS Z23, Z14, Z31", []byte{0x62, 0x22, 0x0e, 0x48, 0x52, 0xff}},
		// vdpbf16ps 64(%rsi), %zmm4, %zmm5
		{"VDPBF16PS 64(SI), Z4, Z5", []byte{0x62, 0xf2, 0x5e, 0x48, 0x52, 0x6e, 0x01}},
		// vdpbf16ps 4(%r12){1to16}, %zmm4, %zmm5
		{"VDPBF16PS.BCST 4(R12), Z4, Z5", []byte{0x62, 0xd2, 0x5e, 0x58, 0x52, 0x6c, 0x24, 0x01}},
		// vdpbf16ps (%r13), %zmm20, %zmm5
		{"VDPBF16PS (R13), Z20, Z5", []byte{0x62, 0xd2, 0x5e, 0x40, 0x52, 0x6d, 0x00}},
		// vcvtne2ps2bf16 128(%rax), %zmm1, %zmm2
		{"VCVTNE2PS2BF16 128(AX), Z1, Z2", []byte{0x62, 0xf2, 0x77, 0x48, 0x72, 0x50, 0x02}},
		// vdpbf16ps 100(%rdi), %zmm0, %zmm1 (not a multiple of 64: disp32)
		{"VDPBF16PS 100(DI), Z0, Z1", []byte{0x62, 0xf2, 0x7e, 0x48, 0x52, 0x8f, 0x64, 0x00, 0x00, 0x00}},
	}
	for _, c := range cases {
		got, err := encode(c.text)
		if err != nil {
			t.Errorf("encode(%q): %v", c.text, err)
			continue
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("encode(%q) = % x, want % x", c.text, got, c.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"VADDPS Z0, Z1, Z2", "unknown mnemonic"},
		{"VDPBF16PS Z0, Z1", "takes 3 operands"},
		{"VCVTNEPS2BF16 Z0, Z1", "want a Y register"},
		{"VDPBF16PS Z32, Z1, Z2", "Z0..Z31"},
		{"VDPBF16PS.BCST Z3, Z1, Z2", "needs a memory first operand"},
		{"VDPBF16PS 8(XX), Z1, Z2", "base must be"},
		{"VDPBF16PS 8(SI, Z1, Z2", "want off(BASE)"},
		{"VDPBF16PS q(SI), Z1, Z2", "displacement"},
	}
	for _, c := range cases {
		_, err := encode(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("encode(%q) error = %v, want one containing %q", c.text, err, c.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	src := "TEXT x(SB)\n\tVMOVUPS (SI), Z0\n\tstale bytes // bf16asm: VCVTNEPS2BF16 Z0, Y0\n\tRET\n"
	want := "TEXT x(SB)\n\tVMOVUPS (SI), Z0\n\tBYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0 // bf16asm: VCVTNEPS2BF16 Z0, Y0\n\tRET\n"
	got, err := rewrite("x.s", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	again, err := rewrite("x.s", got)
	if err != nil || string(again) != want {
		t.Fatalf("rewrite is not idempotent: %v\n%s", err, again)
	}
	if _, err := rewrite("x.s", []byte("a\n// bf16asm: VFOO Z0\n")); err == nil || !strings.Contains(err.Error(), "x.s:2:") {
		t.Fatalf("bad instruction error = %v, want one naming x.s:2", err)
	}
}

// TestKernelFileUpToDate checks that the committed kernel file's bytes are
// what its listing encodes.
func TestKernelFileUpToDate(t *testing.T) {
	const path = "../../autograd/bf16_amd64.s"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rewrite(path, src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("%s is stale; run go generate ./autograd/ (go run ./tools/bf16asm autograd/bf16_amd64.s)", path)
	}
	if !bytes.Contains(src, []byte(marker)) {
		t.Fatalf("%s has no %q lines", path, marker)
	}
}

func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/k.s"
	if err := os.WriteFile(path, []byte("\t// bf16asm: VDPBF16PS Z3, Z4, Z5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if rc := run([]string{"-check", path}, &stderr); rc != 1 {
		t.Fatalf("-check on a stale file: status %d, want 1 (%s)", rc, stderr.String())
	}
	if rc := run([]string{path}, &stderr); rc != 0 {
		t.Fatalf("rewrite: status %d, want 0 (%s)", rc, stderr.String())
	}
	if rc := run([]string{"-check", path}, &stderr); rc != 0 {
		t.Fatalf("-check after rewrite: status %d, want 0 (%s)", rc, stderr.String())
	}
	if rc := run(nil, &stderr); rc != 2 {
		t.Fatalf("no files: status %d, want 2", rc)
	}
}

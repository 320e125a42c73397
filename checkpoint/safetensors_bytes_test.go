package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildFile assembles a safetensors file from a header and data section,
// padding the header with spaces to a multiple of 8 bytes as writers do.
func buildFile(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// le16, le32 and le64 append little-endian words.
func le16(b []byte, v ...uint16) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32(b []byte, v ...uint32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(b []byte, v ...uint64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

// writeTemp writes b to a fresh file and returns its path.
func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hand.safetensors")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadHandWrittenFile(t *testing.T) {
	// Data order deliberately differs from name order: h16, f, bf, d.
	var data []byte
	data = le16(data, 0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x8000, 0xfc00) // h16 [8] at 0..16
	data = le32(data, 0x3fc00000, 0xc0000000)                                         // f [2,1] at 16..24
	data = le16(data, 0x3f80, 0xc049)                                                 // bf [2] at 24..28
	data = append(data, 0, 0, 0, 0)                                                   // pad tensor p [4] U8 at 28..32
	data = le64(data, 0x400921fb54442d18)                                             // d [] at 32..40
	header := `{"f":{"dtype":"F32","shape":[2,1],"data_offsets":[16,24]},` +
		`"__metadata__":{"format":"pt"},` +
		`"h16":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]},` +
		`"bf":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},` +
		`"p":{"dtype":"U8","shape":[4],"data_offsets":[28,32]},` +
		`"d":{"dtype":"F64","shape":[],"data_offsets":[32,40]}}`
	path := writeTemp(t, buildFile(header, data))

	raw, meta, err := ReadSafetensorsRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(raw) != 5 {
		t.Fatalf("meta %v, %d tensors", meta, len(raw))
	}
	want := map[string]struct {
		shape []int
		vals  []float64
	}{
		"h16": {[]int{2, 4}, []float64{1, -2, math.Ldexp(1, -24), 1023 * math.Ldexp(1, -24), math.Ldexp(1, -14), 65504, math.Copysign(0, -1), math.Inf(-1)}},
		"f":   {[]int{2, 1}, []float64{1.5, -2}},
		"bf":  {[]int{2}, []float64{1, -3.140625}},
		"d":   {nil, []float64{math.Pi}},
	}
	for name, w := range want {
		x, err := raw[name].Tensor()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(x.Shape()) != len(w.shape) || x.Len() != len(w.vals) {
			t.Fatalf("%s: shape %v, want %v", name, x.Shape(), w.shape)
		}
		for i, v := range w.vals {
			if math.Float64bits(x.At(i)) != math.Float64bits(v) {
				t.Errorf("%s[%d] = %v, want %v", name, i, x.At(i), v)
			}
		}
	}
	if x, _ := raw["d"].Tensor(); x.DType().String() != "float64" {
		t.Errorf("F64 read as %v", x.DType())
	}
	// The float reader refuses the U8 tensor and says which one.
	if _, _, err := ReadSafetensors(path); err == nil || !strings.Contains(err.Error(), `"p"`) {
		t.Errorf("ReadSafetensors: err = %v, want it to name tensor \"p\"", err)
	}
}

func TestF16ToF32AllValues(t *testing.T) {
	// An independent definition: (-1)^s * 2^(e-15) * (1 + m/1024), or
	// 2^-14 * m/1024 for subnormals.
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		got := f16ToF32(uint16(h))
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("f16 %#04x: %v, want NaN", h, got)
			}
			continue
		case e == 0:
			want = math.Ldexp(float64(m)/1024, -14)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
			if want == 0 {
				want = math.Copysign(0, -1)
			}
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("f16 %#04x: %v, want %v", h, got, want)
		}
	}
}

func TestBF16ToF32(t *testing.T) {
	cases := []struct {
		in   uint16
		want float32
	}{
		{0x0000, 0}, {0x3f80, 1}, {0xbf80, -1}, {0x4049, 3.140625}, {0x7f80, float32(math.Inf(1))},
		{0x0001, math.Float32frombits(0x00010000)},
	}
	for _, c := range cases {
		if got := bf16ToF32(c.in); got != c.want {
			t.Errorf("bf16 %#04x: %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(float64(bf16ToF32(0x7fc0))) {
		t.Error("bf16 0x7fc0 is not NaN")
	}
}

// readBytes returns the contents of path.
func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

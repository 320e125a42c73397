package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// f32 and f64 build tensors from values and a shape.
func f32(v []float32, shape ...int) *autograd.Tensor { return autograd.FromSlice(v, shape...) }
func f64(v []float64, shape ...int) *autograd.Tensor { return autograd.FromSlice(v, shape...) }

// sameTensor reports why a and b differ (dtype, shape, or bits), or "".
func sameTensor(a, b *autograd.Tensor) string {
	if a.DType() != b.DType() {
		return "dtype " + a.DType().String() + " vs " + b.DType().String()
	}
	if !slices.Equal(a.Shape(), b.Shape()) && !(len(a.Shape()) == 0 && len(b.Shape()) == 0) {
		return "shapes differ"
	}
	if a.Len() != b.Len() {
		return "lengths differ"
	}
	for i := 0; i < a.Len(); i++ {
		if math.Float64bits(a.At(i)) != math.Float64bits(b.At(i)) {
			return "values differ"
		}
	}
	return ""
}

// withPortable runs f with the little-endian fast path on and off.
func withPortable(t *testing.T, f func(t *testing.T)) {
	for _, fast := range []bool{true, false} {
		name := map[bool]string{true: "native", false: "portable"}[fast]
		t.Run(name, func(t *testing.T) {
			saved := nativeLE
			nativeLE = fast && saved
			defer func() { nativeLE = saved }()
			f(t)
		})
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	nan32 := float32(math.NaN())
	cases := []struct {
		name    string
		tensors map[string]*autograd.Tensor
		meta    map[string]string
	}{
		{"empty file", map[string]*autograd.Tensor{}, nil},
		{"f32 matrix", map[string]*autograd.Tensor{"w": f32([]float32{1, -2, 3.5, 0, 1e-40, nan32}, 2, 3)}, nil},
		{"f64 vector", map[string]*autograd.Tensor{"v": f64([]float64{math.Pi, math.Copysign(0, -1), math.Inf(1), 5e-324}, 4)}, nil},
		{"scalar-like [1]", map[string]*autograd.Tensor{"s": f32([]float32{7}, 1)}, nil},
		{"rank-0", map[string]*autograd.Tensor{"r": f64([]float64{-1.25})}, nil},
		{"empty [0] and [3,0]", map[string]*autograd.Tensor{
			"e0": f32([]float32{}, 0), "e30": f64([]float64{}, 3, 0), "x": f32([]float32{1, 2}, 2),
		}, nil},
		{"mixed with metadata", map[string]*autograd.Tensor{
			"layers.0.w":    f32(make([]float32, 1000), 10, 100),
			"b":             f64([]float64{1, 2, 3}, 3, 1),
			"a":             f32([]float32{9}, 1, 1, 1),
			"ünïcode \"q\"": f32([]float32{4, 5}, 2),
		}, map[string]string{"format": "pt", "note": "<&>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			withPortable(t, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "x.safetensors")
				if err := WriteSafetensors(path, tc.tensors, tc.meta); err != nil {
					t.Fatal(err)
				}
				got, meta, err := ReadSafetensors(path)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.tensors) {
					t.Fatalf("read %d tensors, wrote %d", len(got), len(tc.tensors))
				}
				for name, want := range tc.tensors {
					g, ok := got[name]
					if !ok {
						t.Fatalf("tensor %q missing", name)
					}
					if d := sameTensor(g, want); d != "" {
						t.Errorf("tensor %q: %s", name, d)
					}
					if g.Name != name {
						t.Errorf("tensor %q read back with Name %q", name, g.Name)
					}
				}
				if len(meta) != len(tc.meta) {
					t.Errorf("metadata %v, want %v", meta, tc.meta)
				}
				for k, v := range tc.meta {
					if meta[k] != v {
						t.Errorf("metadata[%q] = %q, want %q", k, meta[k], v)
					}
				}
				checkFileLayout(t, path)
				if des, _ := os.ReadDir(dir); len(des) != 1 {
					t.Errorf("directory holds %d entries after write, want only the file", len(des))
				}
			})
		})
	}
}

// checkFileLayout checks the writer's conventions on a file: header padded
// with spaces to 8 bytes, data laid out in name order.
func checkFileLayout(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	if (8+n)%8 != 0 {
		t.Errorf("header length %d leaves data unaligned", n)
	}
	header := string(b[8 : 8+n])
	trimmed := strings.TrimRight(header, " ")
	if !strings.HasSuffix(trimmed, "}") || len(header)-len(trimmed) > 7 {
		t.Errorf("header padding wrong: %q", header)
	}
	raw, _, err := ReadSafetensorsRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := readHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(h.tensors))
	for i, ti := range h.tensors {
		names[i] = ti.name
		if !bytes.Equal(raw[ti.name].Data, b[8+int64(n)+ti.begin:8+int64(n)+ti.end]) {
			t.Errorf("tensor %q: raw bytes differ from the file", ti.name)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("data order %v is not sorted by name", names)
	}
}

func TestPortableAndNativeWriteSameBytes(t *testing.T) {
	if !nativeLE {
		t.Skip("host is big-endian: only the portable path exists")
	}
	tensors := map[string]*autograd.Tensor{
		"a": f32([]float32{1, -2, float32(math.Inf(-1)), 3e-41}, 2, 2),
		"b": f64(make([]float64, 20000), 20000), // spans several staging chunks
	}
	for i := range tensors["b"].F64() {
		tensors["b"].F64()[i] = float64(i) * 1.5
	}
	dir := t.TempDir()
	native := filepath.Join(dir, "native.safetensors")
	portable := filepath.Join(dir, "portable.safetensors")
	if err := WriteSafetensors(native, tensors, nil); err != nil {
		t.Fatal(err)
	}
	nativeLE = false
	err := WriteSafetensors(portable, tensors, nil)
	nativeLE = true
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(native)
	b, _ := os.ReadFile(portable)
	if !bytes.Equal(a, b) {
		t.Fatal("native and portable writers produce different bytes")
	}
}

func TestRawRoundTrip(t *testing.T) {
	tensors := map[string]RawTensor{
		"ids":   RawInt32([]int32{-1, 0, 2147483647, -2147483648}, 2, 2),
		"pos":   RawInt64([]int64{math.MinInt64, 42, math.MaxInt64}, 3),
		"mask":  {DType: DTypeBool, Shape: []int{3}, Data: []byte{1, 0, 1}},
		"bytes": {DType: DTypeU8, Shape: []int{2}, Data: []byte{255, 7}},
		"i16":   {DType: DTypeI16, Shape: []int{1}, Data: []byte{0xff, 0xff}},
		"none":  RawInt64([]int64{}, 0),
	}
	want := map[string][]int64{
		"ids": {-1, 0, 2147483647, -2147483648}, "pos": {math.MinInt64, 42, math.MaxInt64},
		"mask": {1, 0, 1}, "bytes": {255, 7}, "i16": {-1}, "none": {},
	}
	path := filepath.Join(t.TempDir(), "ints.safetensors")
	if err := WriteSafetensorsRaw(path, tensors, map[string]string{"kind": "ints"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := ReadSafetensorsRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["kind"] != "ints" {
		t.Errorf("metadata %v", meta)
	}
	for name, w := range want {
		r := got[name]
		if r.DType != tensors[name].DType || !slices.Equal(r.Shape, tensors[name].Shape) {
			t.Errorf("%s: dtype %s shape %v, want %s %v", name, r.DType, r.Shape, tensors[name].DType, tensors[name].Shape)
		}
		v, err := r.Int64s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(v, w) {
			t.Errorf("%s: %v, want %v", name, v, w)
		}
	}
	if _, _, err := ReadSafetensors(path); err == nil || !strings.Contains(err.Error(), "dtype U8 is not a float type") || strings.Contains(err.Error(), "ReadSafetensorsRaw") {
		t.Errorf("ReadSafetensors on integer tensors: err = %v, want the dtype named and no internal API name", err)
	}
	if DTypeSize(DTypeBF16) != 2 || DTypeSize(DTypeI64) != 8 || DTypeSize("F8_E4M3") != 0 {
		t.Error("DTypeSize table wrong")
	}
	if _, err := (RawTensor{DType: DTypeF32, Shape: []int{1}, Data: make([]byte, 4)}).Int64s(); err == nil {
		t.Error("Int64s on F32 succeeded")
	}
	if _, err := (RawTensor{DType: DTypeU64, Shape: []int{1}, Data: bytes.Repeat([]byte{0xff}, 8)}).Int64s(); err == nil {
		t.Error("Int64s on U64 above MaxInt64 succeeded")
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	cases := []struct {
		name    string
		tensors map[string]*autograd.Tensor
		raw     map[string]RawTensor
		want    string
	}{
		{"nil tensor", map[string]*autograd.Tensor{"w": nil}, nil, `"w" is nil`},
		{"empty name", map[string]*autograd.Tensor{"": f32([]float32{1}, 1)}, nil, "empty tensor name"},
		{"reserved name", map[string]*autograd.Tensor{"__metadata__": f32([]float32{1}, 1)}, nil, "reserved"},
		{"raw short data", nil, map[string]RawTensor{"x": {DType: DTypeI32, Shape: []int{2}, Data: make([]byte, 4)}}, "needs 8 bytes"},
		{"raw bad dtype", nil, map[string]RawTensor{"x": {DType: "F8", Shape: []int{1}, Data: make([]byte, 1)}}, "unsupported dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.safetensors")
			var err error
			if tc.raw != nil {
				err = WriteSafetensorsRaw(path, tc.raw, nil)
			} else {
				err = WriteSafetensors(path, tc.tensors, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, path, tc.want)
			}
			if des, _ := os.ReadDir(dir); len(des) != 0 {
				t.Errorf("failed write left %d entries", len(des))
			}
		})
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteSafetensors(path, map[string]*autograd.Tensor{"a": f32([]float32{1}, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(path, map[string]*autograd.Tensor{"b": f32([]float32{2}, 1), "c": nil}, nil); err == nil {
		t.Fatal("write with a nil tensor succeeded")
	}
	got, _, err := ReadSafetensors(path)
	if err != nil || len(got) != 1 || got["a"] == nil {
		t.Fatalf("after a failed write the old file should remain: %v, %v", got, err)
	}
	if err := WriteSafetensors(path, map[string]*autograd.Tensor{"b": f32([]float32{2}, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err = ReadSafetensors(path)
	if err != nil || len(got) != 1 || got["b"].At(0) != 2 {
		t.Fatalf("after a second write: %v, %v", got, err)
	}
}

package autograd

// Mutations caught: reading a row's unpaired last element of A as a dword
// (MOVL for MOVWLZX in the kernels' odd step, or a broadcast VDPBF16PS of
// it) faults on the guard page and fails TestGemmBF16OddKStaysInA.

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// TestGemmBF16OddKStaysInA places A with an odd k so that its last element
// ends a page followed by an inaccessible one: the kernels must read no
// word past it.
func TestGemmBF16OddKStaysInA(t *testing.T) {
	if !bf16GemmVec {
		t.Skip("this CPU lacks AVX512-BF16 (or AVX-512F)")
	}
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap of two pages: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect of the guard page: %v", err)
	}
	words := unsafe.Slice((*BF16)(unsafe.Pointer(&mem[0])), page/2) // the accessible page
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{1, 3, 5, 33, 257} {
		for m := 1; m <= bf16TileRows+1; m++ {
			lda := k + 1
			la := (m-1)*lda + k
			a := words[len(words)-la:]
			copy(a, randBF16(rng, la, 1))
			b := randBF16(rng, 70*k, 1)
			c := make([]float32, m*70)
			want := make([]float32, m*70)
			if err := GemmBF16(m, 70, k, a, lda, b, k, c, 70, false); err != nil {
				t.Fatal(err)
			}
			gemmBF16Ref(m, 70, k, a, lda, b, k, want, 70, false)
			for i := range c {
				if d := c[i] - want[i]; d > 1e-3 || d < -1e-3 {
					t.Fatalf("k=%d m=%d: C[%d] = %v, reference %v", k, m, i, c[i], want[i])
				}
			}
		}
	}
}

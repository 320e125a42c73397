package autograd

import "testing"

// TestPoolDropsIdleClasses: a size class unused for maxIdleCycles Reset
// cycles is released, while classes in use every cycle keep their buffers.
func TestPoolDropsIdleClasses(t *testing.T) {
	tp := NewTape()
	tp.alloc(Float32, 1000) // a one-off shape
	tp.Reset()
	for i := 0; i <= maxIdleCycles; i++ {
		tp.alloc(Float32, 300) // the steady shape
		tp.Reset()
	}
	if _, ok := tp.pool.free32[sizeClass(1000)]; ok {
		t.Errorf("size class %d idle for %d cycles is still pooled", sizeClass(1000), maxIdleCycles+1)
	}
	if l := tp.pool.free32[sizeClass(300)]; len(l) != 1 {
		t.Errorf("steady size class holds %d buffers, want 1", len(l))
	}
}

// TestPoolReusesBuffers: in steady state the same buffers come back.
func TestPoolReusesBuffers(t *testing.T) {
	tp := NewTape()
	a := tp.alloc(Float32, 500)
	first := &a.F32()[0]
	tp.Reset()
	b := tp.alloc(Float32, 490) // same size class
	if &b.F32()[0] != first {
		t.Error("a buffer of the same size class was not reused")
	}
	for _, v := range b.F32() {
		if v != 0 {
			t.Fatal("reused buffer not zeroed")
		}
	}
}

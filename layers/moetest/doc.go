// Package moetest holds the per-token MoE reference and the dispatcher
// conformance suite, importable by every package that implements
// layers.Dispatcher (as gonum's testblas serves each BLAS implementation).
//
// Reference is the slow, obviously correct MoE layer: one expert MLP call
// per token and kept slot. TestDispatcher runs an MoE layer with the
// dispatcher under test over several routings (dropless, drops by capacity,
// experts with no tokens, E = 1, K = 1, the layer applied twice on one tape)
// and holds its output and gradients to the reference and to finite
// differences. A dispatcher's own test is one line:
//
//	func TestLocalDispatcher(t *testing.T) {
//		moetest.TestDispatcher(t, func() layers.Dispatcher { return layers.LocalDispatcher{} })
//	}
//
// Dimension legend: N tokens, D model width, E experts, F expert hidden
// width, M kept slots.
package moetest

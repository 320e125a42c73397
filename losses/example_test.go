package losses_test

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/losses"
)

// The load-balancing loss is coeff for a balanced router and grows towards
// coeff * E as routing collapses onto one expert.
func ExampleLoadBalancing() {
	tp := autograd.NewNoGradTape()
	balanced := autograd.FromSlice([]float32{0.5, 0.5, 0.5, 0.5}, 2, 2) // [N, E]
	collapsed := autograd.FromSlice([]float32{1, 0, 1, 0}, 2, 2)
	fmt.Printf("%.3f\n", losses.LoadBalancing(tp, balanced, []int{1, 1}, losses.DefaultAuxCoeff).Item()) // choices per expert [E]
	fmt.Printf("%.3f\n", losses.LoadBalancing(tp, collapsed, []int{2, 0}, losses.DefaultAuxCoeff).Item())
	// Output:
	// 0.010
	// 0.020
}

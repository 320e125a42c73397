// Package commtest is the conformance suite every parallel.Comm backend
// runs, as gonum's testblas serves every BLAS. A backend's test is one line:
//
//	func TestLocal(t *testing.T) {
//		commtest.TestComm(t, func(t *testing.T, n int, timeout time.Duration) []parallel.Comm {
//			comms, err := parallel.NewLocal(n, parallel.LocalOptions{Timeout: timeout})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return comms
//		})
//	}
//
// The suite checks every collective against a serial reference at each world
// size (uneven and zero AllToAllV counts, Broadcast from every root, Split
// with collectives running concurrently in two sub-groups, Groups' layout, a
// 64 MiB message unless -short), that arguments disagreeing across ranks fail
// on every rank, and that a rank which never calls, or closes, makes its
// peers fail within about the timeout with an error naming it.
//
// A backend with one rank per process (MPI) runs the same checks with
// TestCommRank in every process of its job, each checking its own rank's
// part; its timeout case, which ends such a job, is CheckHang, for a job of
// its own.
package commtest

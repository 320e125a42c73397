//go:build mpi

// Mutations caught: making the header exchange skip the close notice check
// in stepHeaders makes TestMPI/Closed fail (the peers wait out the timeout
// and the job aborts); dropping the agree call in stepHeaders makes
// TestMPI/Mismatch fail; returning from Barrier without the header exchange
// makes TestMPI/Barrier fail; staging every rank's ReduceScatter block
// from block 0 (send[ch[0]:ch[1]]) makes TestMPI/Chunked fail; running one
// AllToAllV round fewer makes TestMPI/Large fail; removing the watchdog's
// time.AfterFunc in expire makes TestMPIUnderMpirun/hang fail (the job
// outlives its limit).
package parallel_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
	"github.com/moetrain/moetrain/parallel/commtest"
)

// TestMPIVersionBeforeStart asks for the version without starting MPI.
func TestMPIVersionBeforeStart(t *testing.T) {
	if os.Getenv("OMPI_COMM_WORLD_SIZE") != "" {
		t.Skip("under mpirun MPI is started already")
	}
	if v := parallel.MPIVersion(); !strings.HasPrefix(v, "Open MPI v") || strings.Contains(v, ",") {
		t.Errorf("MPIVersion() = %q, want the short Open MPI version", v)
	}
}

// mpiFaultEnv selects the fault TestMPIFault plays; TestMPIUnderMpirun
// sets it for the jobs it launches.
const mpiFaultEnv = "MOETRAIN_MPI_FAULT"

// mpiFaultTimeout bounds collectives in the hang fault.
const mpiFaultTimeout = 2 * time.Second

// underMPI returns the job's world size, or skips when this process was not
// launched by mpirun.
func underMPI(t *testing.T) int {
	t.Helper()
	s := os.Getenv("OMPI_COMM_WORLD_SIZE")
	if s == "" {
		t.Skip("not under mpirun (OMPI_COMM_WORLD_SIZE unset): TestMPIUnderMpirun launches these tests with mpirun")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("OMPI_COMM_WORLD_SIZE=%q is not a world size", s)
	}
	return n
}

// newMPIWorld is the commtest.RankWorld of the MPI backend.
func newMPIWorld(t *testing.T, timeout time.Duration) parallel.Comm {
	t.Helper()
	c, err := parallel.NewMPI(parallel.MPIOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMPI runs the conformance suite with this process's rank (TestMain
// keeps a world open throughout, so that MPI is finalized only at the end).
func TestMPI(t *testing.T) {
	n := underMPI(t)
	if os.Getenv(mpiFaultEnv) != "" {
		t.Skip("a fault job runs TestMPIFault only")
	}
	if !parallel.MPIBuilt() || !strings.HasPrefix(parallel.MPIVersion(), "Open MPI v") {
		t.Errorf("MPIBuilt %v, MPIVersion %q in the mpi build", parallel.MPIBuilt(), parallel.MPIVersion())
	}
	commtest.TestCommRank(t, newMPIWorld, n)
	t.Run("Chunked", func(t *testing.T) { testMPIChunked(t, newMPIWorld(t, time.Minute)) })
}

// testMPIChunked moves buffers above mpiMaxChunk (16 MiB in one call)
// through AllGather, ReduceScatter and Broadcast, which the suite's large
// case leaves out, with exact values checked everywhere.
func testMPIChunked(t *testing.T, c parallel.Comm) {
	defer c.Close()
	w, r := c.Size(), c.Rank()
	l := 5<<20 + 3 // values per rank: W*l > 4 Mi values, so every collective splits
	send := make([]float32, l)
	for i := range send {
		send[i] = float32(i%1000 + r)
	}
	all := make([]float32, w*l)
	if err := c.AllGather(send, all); err != nil {
		t.Fatal(err)
	}
	for i, v := range all {
		if want := float32(i%l%1000 + i/l); v != want {
			t.Fatalf("chunked AllGather element %d = %v, want %v", i, v, want)
		}
	}
	recv := make([]float32, l)
	if err := c.ReduceScatter(all, recv, parallel.Sum); err != nil { // every rank sends the gathered all
		t.Fatal(err)
	}
	for i, v := range recv {
		if want := float32(w * (i%1000 + r)); v != want {
			t.Fatalf("chunked ReduceScatter element %d = %v, want %v", i, v, want)
		}
	}
	if r != 0 {
		clear(send)
	}
	if err := c.Broadcast(send, 0); err != nil {
		t.Fatal(err)
	}
	for i, v := range send {
		if want := float32(i % 1000); v != want {
			t.Fatalf("chunked Broadcast element %d = %v, want %v", i, v, want)
		}
	}
}

// TestMPIFault plays the fault named by MOETRAIN_MPI_FAULT; its job is
// expected to end in an abort, which TestMPIUnderMpirun checks.
//
//	hang: the last rank stalls; the others must time out naming it, then
//	      the watchdog aborts the job.
//	kill: the last rank kills itself with SIGKILL amid AllReduces; mpirun
//	      must end the job.
func TestMPIFault(t *testing.T) {
	underMPI(t)
	fault := os.Getenv(mpiFaultEnv)
	if fault == "" {
		t.Skip(mpiFaultEnv + " unset: no fault to play")
	}
	switch fault {
	case "hang":
		c := newMPIWorld(t, mpiFaultTimeout)
		if err := commtest.CheckHang(c, mpiFaultTimeout, time.Minute); err != nil {
			t.Fatalf("rank %d: %v", c.Rank(), err)
		}
		fmt.Fprintf(os.Stderr, "fault check passed on rank %d\n", c.Rank())
		time.Sleep(time.Minute) // the watchdog ends the job before this
	case "kill":
		c := newMPIWorld(t, time.Minute)
		buf := make([]float32, 1<<20)
		for it := range 1000 {
			if c.Rank() == c.Size()-1 && it == 20 {
				fmt.Fprintf(os.Stderr, "rank %d kills itself\n", c.Rank())
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
			if err := c.AllReduce(buf, parallel.Sum); err != nil {
				t.Fatalf("rank %d: %v", c.Rank(), err)
			}
		}
	default:
		t.Fatalf("%s=%q: want hang or kill", mpiFaultEnv, fault)
	}
	t.Fatalf("the %s fault job is still running; it should have been aborted", fault)
}

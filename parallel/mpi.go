//go:build mpi

package parallel

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// mpiProcess is the process's MPI state. MPI itself is process-wide (one
// MPI_Init, one MPI_Finalize, one progress thread), so this is the one
// piece of package state, guarded by its mutex.
var mpiProcess struct {
	mu        sync.Mutex
	eng       *mpiEngine
	open      int  // worlds returned by NewMPI and not yet closed
	finalized bool // MPI_Finalize ran; MPI cannot start again
	worlds    int  // worlds created so far: the world communicators' ids
	version   string
}

// NewMPI returns this process's handle on a new world communicator spanning
// every process of the MPI job (a duplicate of MPI_COMM_WORLD), with its
// own timeout. The first call initializes MPI and starts the progress
// thread; every process must call NewMPI the same number of times, in the
// same order. MPI is finalized when the last world is closed, after which
// NewMPI fails.
//
// Faults: Open MPI (without ULFM) cannot recover a communicator. A rank
// whose collective times out gets an *Error naming the peers that did not
// arrive, and about a second later the watchdog ends the whole job with
// MPI_Abort; a process that dies makes mpirun end the job within about a
// second.
func NewMPI(opts MPIOptions) (Comm, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("parallel: MPI timeout %v is negative: give a positive duration, or 0 for the default %v", timeout, DefaultTimeout)
	}
	p := &mpiProcess
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finalized {
		return nil, fmt.Errorf("parallel: MPI was finalized when the last world communicator closed; " +
			"a process can start MPI only once, so keep one world open for the life of the process")
	}
	if p.eng == nil {
		eng, err := startEngine()
		if err != nil {
			return nil, fmt.Errorf("parallel: starting MPI: %w; launch the program with mpirun or srun --mpi=pmix", err)
		}
		p.eng = eng
		eng.do("MPI_Get_library_version", timeout, func() { p.version = mpiLibraryVersion() })
	}
	var c *mpiComm
	var err error
	p.eng.do("creating the world communicator", timeout, func() {
		c, err = newMPIComm(p.eng, mpiWorld(), nil, timeout)
	})
	if err != nil {
		return nil, fmt.Errorf("parallel: creating the MPI world communicator: %w", err)
	}
	c.world = true
	p.open++
	p.worlds++
	c.id = commID(0, p.worlds, 0)
	return c, nil
}

// MPIBuilt reports whether this binary has the MPI backend: true.
func MPIBuilt() bool { return true }

// MPIVersion is the MPI library's version as MPI_Get_library_version gives
// it, up to the first comma ("Open MPI v4.1.4"). Before MPI starts it asks
// the library directly (MPI allows that call before MPI_Init); after, it
// returns what the progress thread read at startup.
func MPIVersion() string {
	p := &mpiProcess
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eng == nil && !p.finalized {
		return mpiLibraryVersion()
	}
	return p.version
}

// mpiComm is this process's handle on one MPI group. Payloads travel on
// data; headers and close notices on ctl, a duplicate, so that the two
// never match each other's messages. Fields other than the handles are
// touched by the one goroutine using the Comm, and by the progress thread
// only while that goroutine waits for its call.
type mpiComm struct {
	e          *mpiEngine
	data, ctl  mpiHandle
	rank, size int
	id         int64 // the same on every rank of the group, distinct among the process's communicators
	members    []int // world ranks, by group rank
	timeout    time.Duration
	calls      int
	closed     bool
	world      bool
	fail       *failure // set once; the communicator is unusable after
	children   []*mpiComm
}

// newMPIComm wraps a duplicate of parent (data) and one more (ctl). members
// are the world ranks of parent's group, nil for the world itself. It runs
// on the progress thread.
func newMPIComm(e *mpiEngine, parent mpiHandle, members []int, timeout time.Duration) (*mpiComm, error) {
	data, err := mpiDup(parent)
	if err != nil {
		return nil, err
	}
	return wrapMPIComm(e, data, members, timeout)
}

// wrapMPIComm takes data as the payload communicator and duplicates it for
// headers. It runs on the progress thread.
func wrapMPIComm(e *mpiEngine, data mpiHandle, members []int, timeout time.Duration) (*mpiComm, error) {
	ctl, err := mpiDup(data)
	if err != nil {
		_ = mpiFree(data)
		return nil, err
	}
	rank, size, err := mpiRankSize(data)
	if err != nil {
		return nil, err
	}
	if members == nil {
		members = make([]int, size)
		for r := range members {
			members[r] = r
		}
	}
	if len(members) != size {
		return nil, fmt.Errorf("the new communicator has %d ranks but the headers named %d members %v", size, len(members), members)
	}
	return &mpiComm{e: e, data: data, ctl: ctl, rank: rank, size: size, members: members, timeout: timeout}, nil
}

// Rank is this rank's index in the group.
func (c *mpiComm) Rank() int { return c.rank }

// Size is the number of ranks in the group.
func (c *mpiComm) Size() int { return c.size }

// newError builds the *Error for this rank's current call.
func (c *mpiComm) newError(kind string, peers []int, reason string) *Error {
	return &Error{Rank: c.rank, Group: c.members, Collective: kind, Call: c.calls, Peers: peers, Reason: reason}
}

// Close closes the groups split from this handle, tells the peers (unless
// the group failed already) so that their calls fail naming this rank, and
// frees the payload communicator. Closing the last world finalizes MPI.
func (c *mpiComm) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	for _, ch := range c.children {
		_ = ch.Close()
	}
	var err error
	c.e.do("closing a communicator", c.timeout, func() { err = c.free() })
	if !c.world {
		return err
	}
	p := &mpiProcess
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open--
	if p.open > 0 {
		return err
	}
	var ferr error
	c.e.do("MPI_Finalize", c.timeout, func() { ferr = mpiFinalize() })
	p.finalized = true
	close(c.e.jobs)
	if ferr != nil {
		return fmt.Errorf("parallel: rank %d: closing the last MPI world: %w", c.rank, ferr)
	}
	return err
}

// commID is the id of the communicator split from the one with id parent
// at its call number call with color (a world: parent 0, call its number
// among worlds): the same on every member, and distinct from every other
// communicator's of the process short of a 64-bit hash collision.
func commID(parent int64, call, color int) int64 {
	h := fnv.New64a()
	_ = binary.Write(h, binary.LittleEndian, [3]int64{parent, int64(call), int64(color)})
	return int64(h.Sum64() &^ (1 << 63))
}

// free sends the close notice and frees the payload communicator; it runs
// on the progress thread.
func (c *mpiComm) free() error {
	if c.fail == nil && c.size > 1 {
		note := make([]int64, hdrLen(c.size))
		note[hdrComm], note[hdrKind] = c.id, hdrClosed
		for q := range c.size {
			if q == c.rank {
				continue
			}
			// The notice is small enough to go eagerly; its request is left to
			// complete on its own, as MPI_Comm_free allows.
			req := mpiNullRequest()
			if err := mpiIsend(note, q, hdrTag, c.ctl, &req); err != nil {
				return fmt.Errorf("parallel: rank %d: telling rank %d of the close: %w", c.rank, q, err)
			}
			c.e.retain(note)
		}
	}
	c.fail = &failure{peers: nil, reason: "this rank already closed the communicator"}
	// Only data is freed. ctl stays allocated until MPI_Finalize: a peer's
	// close notice may still be on its way, and Open MPI hands a freed
	// communicator's context to the next one it creates, where such a late
	// message corrupts the message ordering of the new communicator (its
	// next receive from that peer never matches).
	if err := mpiFree(c.data); err != nil {
		return fmt.Errorf("parallel: rank %d: freeing a communicator: %w", c.rank, err)
	}
	return nil
}

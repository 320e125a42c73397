// Package parallel provides the collectives that expert and data parallelism
// are built on: a Comm is one rank's handle on a group of ranks, with
// NCCL-shaped operations (AllReduce, AllGather, ReduceScatter, AllToAllV,
// Broadcast, Barrier) and Split into sub-groups.
//
// Backends: NewLocal runs W ranks as goroutines of one process over shared
// memory; it is what tests and single-machine runs use. NewMPI (build tag
// mpi, Open MPI through cgo; the Makefile adds the tag when mpicc is found)
// gives one rank per process of an mpirun or srun job and passes the same
// conformance suite (package parallel/commtest, per rank). All its MPI calls
// run on one locked OS thread that polls non-blocking collectives and sleeps
// between polls, so sub-groups can be in flight at once without a busy core.
// Each call first exchanges a small header with every peer, which finds
// disagreeing arguments on every rank and names a rank that never arrives or
// closed. Differences from the local backend: sums follow Open MPI's order
// (the same on every rank, not rank order); Split blocks the MPI thread in
// MPI_Comm_split, so splits of different groups should not overlap; and since
// Open MPI cannot recover a communicator, a timeout ends the whole job with
// MPI_Abort about a second after the *Error is returned (docs/parallel.md).
//
// Expert parallelism: ExpertParallelDispatcher is the layers.Dispatcher of
// an MoE layer whose E experts are sharded over an EP group of ep ranks
// (layers.ShardModelExperts keeps rank r's experts [r*E/ep, (r+1)*E/ep)).
// Each rank routes its own tokens over all E experts with a replicated
// router; Dispatch exchanges the per-expert row counts and then the rows
// (AllToAllV) and regroups what arrives by local expert; Combine returns
// the expert outputs the same way and adds them, weighted, into the tokens'
// rows. The backward pass of each exchange is the reverse exchange, so an
// expert shard's gradient sums the contributions of every rank's tokens.
// Every rank issues the same exchanges per call, empty or not: three
// forward (counts, rows, outputs) and two backward (the gradients). A
// failed one panics with a *DispatchError, which the code running the
// layer recovers to end the step with the collective's error.
//
// Dimension legend: W world size (W = dp x ep ranks), r a rank's index in
// its group (0 <= r < Size()), dp data-parallel degree, ep expert-parallel
// degree, L per-rank payload length in float32 values. Group ranks are
// renumbered from 0 in every sub-group; world ranks stay fixed.
//
// Contracts:
//   - Every rank of a group calls the same collectives, with matching
//     arguments, in the same order, even when its own part is empty (a rank
//     with zero tokens still calls AllToAllV with zero counts).
//   - One Comm is used by one goroutine at a time; different Comms (the world
//     and its sub-groups) may be used concurrently from different goroutines.
//   - Every call is bounded by the communicator's timeout: a peer that never
//     arrives, or that closed its communicator, makes the call return an
//     *Error that names this rank, the collective and the missing peer(s),
//     never a hang. After such a failure the communicator is unusable and
//     every later call fails at once with the same cause.
//   - Arguments that disagree across ranks (lengths, counts, op, root, or a
//     different collective altogether) make the call fail on every rank with
//     an *Error naming the offending rank(s); the communicator stays usable.
//   - Reductions add in rank order (rank 0 + rank 1 + ... per element), so a
//     result is bit-identical on every rank and across runs of the local
//     backend.
//   - Buffers are only read or written during the call; on return they belong
//     to the caller again. Send and receive buffers must not overlap, except
//     AllReduce and Broadcast, which work in place on buf.
package parallel

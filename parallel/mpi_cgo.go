//go:build mpi

package parallel

// The thin binding to the MPI C library. Every function here is called from
// the progress thread only (mpi_engine.go), except mpiAbort, which the
// watchdog may call from any thread to end a job whose progress thread is
// stuck.

/*
#cgo pkg-config: ompi-c
#include <mpi.h>
#include <stdlib.h>

static int mt_init(int *provided) {
	int flag = 0;
	MPI_Initialized(&flag);
	if (flag) {
		*provided = -1;
		return MPI_SUCCESS;
	}
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
	if (rc == MPI_SUCCESS) {
		MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	}
	return rc;
}
static int mt_finalize(void) { return MPI_Finalize(); }
static MPI_Comm mt_world(void) { return MPI_COMM_WORLD; }
static int mt_is_null(MPI_Comm c) { return c == MPI_COMM_NULL; }
static int mt_rank(MPI_Comm c, int *r) { return MPI_Comm_rank(c, r); }
static int mt_size(MPI_Comm c, int *n) { return MPI_Comm_size(c, n); }
static int mt_dup(MPI_Comm c, MPI_Comm *out) { return MPI_Comm_dup(c, out); }
static int mt_split(MPI_Comm c, int color, int key, MPI_Comm *out) {
	return MPI_Comm_split(c, color < 0 ? MPI_UNDEFINED : color, key, out);
}
static int mt_free(MPI_Comm c) { return MPI_Comm_free(&c); }
static void mt_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static int mt_iallreduce_sum(float *buf, int n, MPI_Comm c, MPI_Request *r) {
	return MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, c, r);
}
static int mt_iallgatherv(float *send, int n, float *recv, int *counts, int *displs, MPI_Comm c, MPI_Request *r) {
	return MPI_Iallgatherv(send, n, MPI_FLOAT, recv, counts, displs, MPI_FLOAT, c, r);
}
static int mt_ireduce_scatter_block(float *send, float *recv, int n, MPI_Comm c, MPI_Request *r) {
	return MPI_Ireduce_scatter_block(send, recv, n, MPI_FLOAT, MPI_SUM, c, r);
}
static int mt_ialltoallv(float *send, int *sc, int *sd, float *recv, int *rc, int *rd, MPI_Comm c, MPI_Request *r) {
	return MPI_Ialltoallv(send, sc, sd, MPI_FLOAT, recv, rc, rd, MPI_FLOAT, c, r);
}
static int mt_ibcast(float *buf, int n, int root, MPI_Comm c, MPI_Request *r) {
	return MPI_Ibcast(buf, n, MPI_FLOAT, root, c, r);
}
static int mt_ibarrier(MPI_Comm c, MPI_Request *r) { return MPI_Ibarrier(c, r); }
static int mt_isend(long long *buf, int n, int dst, int tag, MPI_Comm c, MPI_Request *r) {
	return MPI_Isend(buf, n, MPI_LONG_LONG, dst, tag, c, r);
}
static int mt_irecv(long long *buf, int n, int src, int tag, MPI_Comm c, MPI_Request *r) {
	return MPI_Irecv(buf, n, MPI_LONG_LONG, src, tag, c, r);
}
static int mt_test(MPI_Request *r, int *flag) { return MPI_Test(r, flag, MPI_STATUS_IGNORE); }
static int mt_is_null_req(MPI_Request r) { return r == MPI_REQUEST_NULL; }
static MPI_Request mt_null_req(void) { return MPI_REQUEST_NULL; }

static void mt_error_string(int code, char *buf, int *len) { MPI_Error_string(code, buf, len); }
static void mt_version(char *buf, int *len) { MPI_Get_library_version(buf, len); }
static int mt_max_string(void) { return MPI_MAX_ERROR_STRING > MPI_MAX_LIBRARY_VERSION_STRING ?
	MPI_MAX_ERROR_STRING : MPI_MAX_LIBRARY_VERSION_STRING; }
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// mpiHandle is one MPI communicator handle.
type mpiHandle = C.MPI_Comm

// mpiRequest is one non-blocking operation's handle.
type mpiRequest = C.MPI_Request

// cint is C's int, the type of MPI's count and displacement arrays.
type cint = C.int

// mpiErr turns an MPI return code into an error naming the call, or nil.
func mpiErr(call string, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	buf := make([]byte, int(C.mt_max_string())+1)
	var n C.int
	C.mt_error_string(rc, (*C.char)(unsafe.Pointer(&buf[0])), &n)
	return fmt.Errorf("%s failed: %s (MPI error %d)", call, strings.TrimSpace(string(buf[:n])), int(rc))
}

// mpiInit initializes MPI for funneled threading. It reports false if MPI
// was already initialized by someone else.
func mpiInit() (bool, error) {
	var provided C.int
	if err := mpiErr("MPI_Init_thread", C.mt_init(&provided)); err != nil {
		return false, err
	}
	if provided == -1 {
		return false, nil
	}
	if provided < C.MPI_THREAD_FUNNELED {
		return true, fmt.Errorf("MPI_Init_thread provided thread level %d, below MPI_THREAD_FUNNELED; use an MPI library built with thread support", int(provided))
	}
	return true, nil
}

func mpiFinalize() error         { return mpiErr("MPI_Finalize", C.mt_finalize()) }
func mpiWorld() mpiHandle        { return C.mt_world() }
func mpiIsNull(c mpiHandle) bool { return C.mt_is_null(c) != 0 }
func mpiAbort(code int)          { C.mt_abort(C.int(code)) }

// mpiRankSize returns this process's rank in c and c's size.
func mpiRankSize(c mpiHandle) (int, int, error) {
	var r, n C.int
	if err := mpiErr("MPI_Comm_rank", C.mt_rank(c, &r)); err != nil {
		return 0, 0, err
	}
	if err := mpiErr("MPI_Comm_size", C.mt_size(c, &n)); err != nil {
		return 0, 0, err
	}
	return int(r), int(n), nil
}

func mpiDup(c mpiHandle) (mpiHandle, error) {
	var out C.MPI_Comm
	return out, mpiErr("MPI_Comm_dup", C.mt_dup(c, &out))
}

func mpiSplit(c mpiHandle, color, key int) (mpiHandle, error) {
	var out C.MPI_Comm
	return out, mpiErr("MPI_Comm_split", C.mt_split(c, C.int(color), C.int(key), &out))
}

func mpiFree(c mpiHandle) error { return mpiErr("MPI_Comm_free", C.mt_free(c)) }

// fptr is the address of s's first element, or nil for an empty s.
func fptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func iptr(s []C.int) *C.int {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func lptr(s []int64) *C.longlong {
	if len(s) == 0 {
		return nil
	}
	return (*C.longlong)(unsafe.Pointer(&s[0]))
}

func mpiIallreduceSum(buf []float32, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Iallreduce", C.mt_iallreduce_sum(fptr(buf), C.int(len(buf)), c, r))
}

func mpiIallgatherv(send, recv []float32, counts, displs []C.int, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Iallgatherv", C.mt_iallgatherv(fptr(send), C.int(len(send)), fptr(recv), iptr(counts), iptr(displs), c, r))
}

func mpiIreduceScatterBlock(send, recv []float32, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Ireduce_scatter_block", C.mt_ireduce_scatter_block(fptr(send), fptr(recv), C.int(len(recv)), c, r))
}

func mpiIalltoallv(send []float32, sc, sd []C.int, recv []float32, rc, rd []C.int, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Ialltoallv", C.mt_ialltoallv(fptr(send), iptr(sc), iptr(sd), fptr(recv), iptr(rc), iptr(rd), c, r))
}

func mpiIbcast(buf []float32, root int, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Ibcast", C.mt_ibcast(fptr(buf), C.int(len(buf)), C.int(root), c, r))
}

func mpiIbarrier(c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Ibarrier", C.mt_ibarrier(c, r))
}

func mpiIsend(buf []int64, dst, tag int, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Isend", C.mt_isend(lptr(buf), C.int(len(buf)), C.int(dst), C.int(tag), c, r))
}

func mpiIrecv(buf []int64, src, tag int, c mpiHandle, r *mpiRequest) error {
	return mpiErr("MPI_Irecv", C.mt_irecv(lptr(buf), C.int(len(buf)), C.int(src), C.int(tag), c, r))
}

// mpiTest reports whether *r has completed; a completed request becomes
// the null request.
func mpiTest(r *mpiRequest) (bool, error) {
	if C.mt_is_null_req(*r) != 0 {
		return true, nil
	}
	var flag C.int
	if err := mpiErr("MPI_Test", C.mt_test(r, &flag)); err != nil {
		return false, err
	}
	return flag != 0, nil
}

func mpiNullRequest() mpiRequest { return C.mt_null_req() }

func mpiIsNullRequest(r mpiRequest) bool { return C.mt_is_null_req(r) != 0 }

// mpiCInts converts counts to C ints for MPI's count arrays.
func mpiCInts(v []int) []cint {
	out := make([]cint, len(v))
	for i, x := range v {
		out[i] = cint(x)
	}
	return out
}

// mpiLibraryVersion is MPI_Get_library_version's first line.
func mpiLibraryVersion() string {
	buf := make([]byte, int(C.mt_max_string())+1)
	var n C.int
	C.mt_version((*C.char)(unsafe.Pointer(&buf[0])), &n)
	s := strings.TrimRight(string(buf[:n]), "\x00")
	if i := strings.IndexAny(s, ",\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

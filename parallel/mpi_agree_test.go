//go:build mpi

// Mutations caught: dropping the int32 check in agree makes
// TestAgreeRefusesInt32 fail; decoding AllToAllV counts whatever their
// number (ignoring color and key) makes TestAgreeCountLengths panic or fail.
package parallel

import (
	"strings"
	"testing"
)

// roundTrip encodes every header and decodes it again, as the exchange does.
func roundTrip(hs []header) []header {
	out := make([]header, len(hs))
	for r, h := range hs {
		buf := make([]int64, hdrLen(len(hs)))
		h.encode(buf, 42, r+1)
		out[r] = decode(buf)
	}
	return out
}

func TestAgreeRefusesInt32(t *testing.T) {
	hs := roundTrip([]header{{kind: kindAllReduce, send: 1 << 31}, {kind: kindAllReduce, send: 1 << 31}})
	peers, reason := agree(hs)
	if reason == "" || !strings.Contains(reason, "int32") || len(peers) != 1 || peers[0] != 0 {
		t.Fatalf("agree on a buffer of 2^31 values: peers %v, reason %q; want rank 0 refused naming int32", peers, reason)
	}
	hs = roundTrip([]header{{kind: kindAllReduce, send: 1<<31 - 1}, {kind: kindAllReduce, send: 1<<31 - 1}})
	if _, reason := agree(hs); reason != "" {
		t.Fatalf("agree on a buffer of 2^31-1 values refused it: %s", reason)
	}
}

func TestAgreeCountLengths(t *testing.T) {
	a2a := func(ns, nr int) header {
		return header{kind: kindAllToAllV, color: ns, key: nr, sendCounts: make([]int, ns), recvCounts: make([]int, nr)}
	}
	hs := roundTrip([]header{a2a(2, 2), a2a(3, 2)})
	peers, reason := agree(hs)
	if !strings.Contains(reason, "3 send counts") || len(peers) != 1 || peers[0] != 1 {
		t.Fatalf("agree with rank 1 passing 3 send counts in a group of 2: peers %v, reason %q", peers, reason)
	}
	hs = roundTrip([]header{a2a(2, 2), a2a(2, 2)})
	if _, reason := agree(hs); reason != "" {
		t.Fatalf("agree on matching zero counts refused them: %s", reason)
	}
}

package store

import (
	"math/rand/v2"
	"testing"
)

func TestIDRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		num := 1 + r.Uint64N(1e15-1)
		seq := 1 + r.Uint64N(MaxSeq)
		org := []string{"acme", "globex", "ünïcode"}[i%3]
		id := encodeID(org, num, seq)
		if !ValidID(id) {
			t.Fatalf("encodeID(%q, %d, %d) = %q: not a valid id", org, num, seq, id)
		}
		n2, s2, ok := decodeID(org, id)
		if !ok || n2 != num || s2 != seq {
			t.Fatalf("decodeID(%q, %q) = %d, %d, %v; want %d, %d", org, id, n2, s2, ok, num, seq)
		}
	}
}

// An id decodes to its entry only in its own org; elsewhere (or made up) it is rejected
// by its check bits about 1,023 times in 1,024, and otherwise names an unlikely entry.
func TestIDOtherOrg(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 20000
	accepted := 0
	for i := 0; i < n; i++ {
		num, seq := 1+r.Uint64N(1e15-1), 1+r.Uint64N(1<<20)
		id := encodeID("acme", num, seq)
		if id == encodeID("globex", num, seq) {
			t.Fatalf("the same id in two orgs for %d, %d", num, seq)
		}
		if n2, s2, ok := decodeID("globex", id); ok {
			accepted++
			if n2 == num && s2 == seq {
				t.Fatalf("acme's id %s names the same entry in globex", id)
			}
		}
	}
	if accepted > n/200 {
		t.Errorf("%d of %d foreign ids pass the check bits; want about %d", accepted, n, n/1024)
	}
}

func encodeID(org string, number, seq uint64) string { return keyOf(org).encode(number, seq) }

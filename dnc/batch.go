package dnc

import (
	"runtime"
	"sync"

	"github.com/dncguard/dncguard/phone"
)

// This file normalizes the numbers of one CheckMany or CheckManyIn call before its one
// round trip to Redis. Normalization is pure CPU and each number is independent, so a
// large batch is cut into contiguous ranges normalized on all cores by a bounded set of
// workers; a small one stays on the caller's goroutine, where starting workers would
// cost more than it saves.

// parallelMin is the smallest batch normalized by more than one goroutine, and the
// least each worker gets: about a hundred microseconds of work at the fast path's
// speed, well above the cost of starting and joining a goroutine.
const parallelMin = 512

// batch is a call's numbers after normalization.
type batch struct {
	valid []string // the E.164 form of each valid number, in the order of the call
	at    []int    // at[j]: the index in the call's numbers of valid[j]
	// firstErr is the *NumberError of the first invalid number, or nil.
	firstErr error
}

// invalidNumber is one number that could not be normalized.
type invalidNumber struct {
	index int
	err   error
}

// normalizeBatch normalizes numbers in region. For each invalid number it sets ds[i] to
// Skip with ReasonInvalidNumber and calls setErr(i, its *NumberError); for each valid
// one it sets ds[i].Number. It returns the valid numbers, in order, with their indexes.
func normalizeBatch(numbers []string, region string, ds []Decision, setErr func(int, error)) batch {
	workers := min(runtime.GOMAXPROCS(0), len(numbers)/parallelMin)
	var bad []invalidNumber
	if workers <= 1 {
		bad = normalizeRange(numbers, region, ds, 0, len(numbers))
	} else {
		bad = normalizeParallel(numbers, region, ds, workers)
	}
	b := batch{valid: make([]string, 0, len(numbers)-len(bad)), at: make([]int, 0, len(numbers)-len(bad))}
	next := 0 // the next entry of bad, which is in index order
	for i := range ds {
		if next < len(bad) && bad[next].index == i {
			nerr := &NumberError{Index: i, Input: numbers[i], Err: bad[next].err}
			ds[i] = Decision{Skip: true, Reason: ReasonInvalidNumber}
			setErr(i, nerr)
			if b.firstErr == nil {
				b.firstErr = nerr
			}
			next++
			continue
		}
		b.valid = append(b.valid, ds[i].Number)
		b.at = append(b.at, i)
	}
	return b
}

// normalizeParallel runs normalizeRange on workers contiguous ranges of numbers, one
// goroutine each, and returns their invalid numbers in index order.
func normalizeParallel(numbers []string, region string, ds []Decision, workers int) []invalidNumber {
	bads := make([][]invalidNumber, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(numbers)/workers, (w+1)*len(numbers)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			bads[w] = normalizeRange(numbers, region, ds, lo, hi)
		}()
	}
	wg.Wait()
	var bad []invalidNumber
	for _, b := range bads {
		bad = append(bad, b...)
	}
	return bad
}

// normalizeRange normalizes numbers[lo:hi], setting ds[i].Number of each valid one,
// and returns the invalid ones in index order. It writes only ds[lo:hi], so ranges
// that do not overlap can run at once.
//
// The E.164 forms are appended to one buffer and made into one string, of which each
// ds[i].Number is a part: two allocations for the range instead of one a number.
func normalizeRange(numbers []string, region string, ds []Decision, lo, hi int) []invalidNumber {
	var bad []invalidNumber
	buf := make([]byte, 0, e164Guess*(hi-lo))
	ends := make([]int32, hi-lo) // ends[i-lo]: where number i's E.164 form ends in buf
	for i := lo; i < hi; i++ {
		var err error
		if buf, err = phone.AppendNormalized(buf, numbers[i], region); err != nil {
			bad = append(bad, invalidNumber{i, err})
		}
		ends[i-lo] = int32(len(buf))
	}
	all := string(buf)
	start := int32(0)
	for i := lo; i < hi; i++ {
		if end := ends[i-lo]; end > start {
			ds[i].Number = all[start:end]
			start = end
		}
	}
	return bad
}

// e164Guess is the room reserved for one E.164 number: "+1" and ten digits, plus one.
const e164Guess = 13

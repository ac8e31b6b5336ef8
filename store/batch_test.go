package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/redis/go-redis/v9"
)

// addNumbers lists numbers for org.
func addNumbers(t *testing.T, s *Store, org string, numbers []string) {
	t.Helper()
	es := make([]Entry, len(numbers))
	for i, n := range numbers {
		es[i].Number = n
	}
	if _, err := s.Add(ctxT(t), org, es, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckManyBucketReads: a batch check reads a bucket with few of its numbers by
// HMGET and one with many by its field names; both, and a batch holding the same
// number many times, answer as the list says, from a Store that knows the table's size
// and from one that does not yet.
func TestCheckManyBucketReads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		const org = "reads"
		numbers := numgen.E164(61, 9000)
		addNumbers(t, New(b.rdb, ""), org, numbers[:3000]) // about 190 buckets
		isListed := map[string]bool{}
		for _, n := range numbers[:3000] {
			isListed[n] = true
		}
		var dups []string
		for range 40 {
			dups = append(dups, numbers[2990:3010]...) // 10 listed, 10 not, 40 times each
		}
		dups = append(dups, numbers[5000], numbers[5000], numbers[0])
		known := New(b.rdb, "")
		if _, _, err := known.Check(ctx, org, numbers[0], true); err != nil { // learns the table's size
			t.Fatal(err)
		}
		for _, s := range []*Store{known, New(b.rdb, "")} {
			for name, batch := range map[string][]string{
				"many a bucket": numbers, "few a bucket": numbers[2850:3150], "duplicates": dups,
			} {
				on, ls, err := s.CheckMany(ctx, org, batch, true)
				if err != nil || !on || len(ls) != len(batch) {
					t.Fatalf("%s: CheckMany = %v, %d answers, %v", name, on, len(ls), err)
				}
				for i, n := range batch {
					if ls[i] != isListed[n] {
						t.Fatalf("%s: CheckMany says %s (index %d) listed %v; want %v", name, n, i, ls[i], isListed[n])
					}
				}
			}
		}
	})
}

// TestCheckManyMissingBucket: a deleted bucket is an error for a batch check whether it
// is read by HMGET (one number of it) or by its field names (many), never "not listed".
func TestCheckManyMissingBucket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "gone"
		numbers := numgen.E164(71, 400)
		addNumbers(t, s, org, numbers)
		reply, err := s.runRO(ctx, checkScript, org, "", "1").Slice()
		if err != nil {
			t.Fatal(err)
		}
		L, p := reply[1].(int64), reply[2].(int64)
		var in3 []string
		for _, n := range numbers {
			if bucketOf(n[1:], L, p) == 3 {
				in3 = append(in3, n)
			}
		}
		if len(in3) == 0 {
			t.Fatal("no number in bucket 3")
		}
		if err := b.rdb.Del(ctx, Base("dnc", org)+"b:3").Err(); err != nil {
			t.Fatal(err)
		}
		many := slices.Repeat(in3, 1+2*fewFields/len(in3))
		for name, batch := range map[string][]string{"one": in3[:1], "many": many, "all": numbers} {
			for _, st := range []*Store{s, New(b.rdb, "")} {
				if on, ls, err := st.CheckMany(ctx, org, batch, true); !errors.Is(err, ErrBadReply) {
					t.Errorf("%s: CheckMany with its bucket deleted = %v, %v, %v; want ErrBadReply", name, on, ls, err)
				}
			}
		}
	})
}

// splitAfterHKEYS is a hook that sends a pipeline holding HKEYS (or HGETALL) in two
// parts, the first up to the first of them, and calls its func between in between, once.
type splitAfterHKEYS struct {
	between func()
	done    atomic.Bool
}

func (h *splitAfterHKEYS) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *splitAfterHKEYS) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *splitAfterHKEYS) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for i, c := range cmds {
			if (strings.EqualFold(c.Name(), "hkeys") || strings.EqualFold(c.Name(), "hgetall")) && h.done.CompareAndSwap(false, true) {
				if err := next(ctx, cmds[:i+1]); err != nil && !errors.Is(err, redis.Nil) { // HGET of a missing field is redis.Nil
					return err
				}
				h.between()
				return next(ctx, cmds[i+1:])
			}
		}
		return next(ctx, cmds)
	}
}

// TestCheckManyBucketOfOneMoment: a bucket read whole (by its field names, or with its
// records in an org whose entries can expire) is read between two reads of its depth
// and stamp; when the org switches (or splits, or is reset) in between, the batch is
// read again, and answers as of after the change.
func TestCheckManyBucketOfOneMoment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, expiring := range []bool{false, true} {
			t.Run(fmt.Sprint("expiring=", expiring), func(t *testing.T) { bucketOfOneMoment(t, b, expiring) })
		}
	})
}

func bucketOfOneMoment(t *testing.T, b backend, expiring bool) {
	ctx := ctxT(t)
	org := fmt.Sprint("moment-", expiring)
	numbers := numgen.E164(81, 2000)
	writer := New(b.rdb, "")
	addNumbers(t, writer, org, numbers[:500])
	if expiring { // one entry that expires, far off: the org's buckets are read with their records
		if _, err := writer.Add(ctx, org, []Entry{{Number: numbers[1999], ExpiresAt: time.Now().Add(time.Hour)}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	opts := *b.rdb.Options()
	rdb := redis.NewClient(&opts)
	t.Cleanup(func() { _ = rdb.Close() })
	h := &splitAfterHKEYS{between: func() {
		if err := writer.SetEnabled(ctx, org, false); err != nil {
			t.Error(err)
		}
	}}
	rdb.AddHook(h)
	s := New(rdb, "")
	if _, _, err := s.Check(ctx, org, numbers[0], true); err != nil { // learns the table's size
		t.Fatal(err)
	}
	if expiring { // learns that the org's entries can expire, unhooked
		h.done.Store(true)
		if _, _, err := s.CheckMany(ctx, org, numbers[:100], true); err != nil {
			t.Fatal(err)
		}
		if !s.c.asksOf(org).clock {
			t.Fatal("the batch did not learn that the org's entries can expire")
		}
		h.done.Store(false)
	}
	reply, err := s.runRO(ctx, checkScript, org, "", "1").Slice()
	if err != nil {
		t.Fatal(err)
	}
	var one []string // the batch lies in one bucket, so only that bucket's stamp can show the switch
	for _, n := range numbers {
		if bucketOf(n[1:], reply[1].(int64), reply[2].(int64)) == 1 {
			one = append(one, n)
		}
	}
	one = slices.Repeat(one, 1+2*fewFields/len(one))
	on, ls, err := s.CheckMany(ctx, org, one, true)
	if !h.done.Load() {
		t.Fatal("the batch read no bucket by its field names")
	}
	if on || ls != nil || err != nil {
		t.Errorf("CheckMany switched off while a bucket was read = %v, %d answers, %v; want off", on, len(ls), err)
	}
	if err := writer.SetEnabled(ctx, org, true); err != nil {
		t.Fatal(err)
	}
	on, ls, err = s.CheckMany(ctx, org, numbers, true)
	if !on || err != nil || slices.Contains(ls[:500], false) || slices.Contains(ls[500:1999], true) || ls[1999] != expiring {
		t.Errorf("CheckMany switched on again = %v, %v", on, err)
	}
}

// TestCheckManyWhileTheTableGrowsInBigGroups: batches with many numbers a bucket, read
// while another Store lists thousands of numbers (the table grows from a few buckets to
// hundreds), always answer as the list says.
func TestCheckManyWhileTheTableGrowsInBigGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		const org = "growsbig"
		size := 8000
		if !b.real {
			size = 2000
		}
		numbers := numgen.E164(91, 2*size)
		listed, never, later := numbers[:200], numbers[200:size], numbers[size:]
		checker, writer := New(b.rdb, ""), New(b.rdb, "")
		addNumbers(t, writer, org, listed)
		if _, _, err := checker.Check(ctx, org, listed[0], true); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for lo := 0; lo < len(later); lo += 500 {
				es := make([]Entry, 0, 500)
				for _, n := range later[lo:min(lo+500, len(later))] {
					es = append(es, Entry{Number: n})
				}
				if _, err := writer.Add(ctx, org, es, time.Now()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		batch := append(slices.Clone(listed), never[:min(3000, len(never))]...)
		for running := true; running; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				running = false
			default:
			}
			on, ls, err := checker.CheckMany(ctx, org, batch, true)
			if err != nil || !on || len(ls) != len(batch) {
				t.Fatalf("CheckMany while the table grows = %v, %d, %v", on, len(ls), err)
			}
			for i, l := range ls {
				if l != (i < len(listed)) {
					t.Fatalf("CheckMany while the table grows: %s listed %v; want %v", batch[i], l, i < len(listed))
				}
			}
		}
		on, ls, err := checker.CheckMany(ctx, org, numbers, true)
		if err != nil || !on {
			t.Fatalf("CheckMany after the growth = %v, %v", on, err)
		}
		for i, l := range ls {
			if want := i < len(listed) || i >= size; l != want {
				t.Fatalf("CheckMany after the growth: %s listed %v; want %v", numbers[i], l, want)
			}
		}
	})
}

// TestCheckManyExpiryInWholeBuckets: buckets read whole (many numbers of the batch in
// each) answer expired entries as not listed: by their names and then, in the same
// call, the records of the numbers found listed, while the Store does not yet know that
// the org's entries can expire; with the records at once afterwards.
func TestCheckManyExpiryInWholeBuckets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, org := ctxT(t), "whole-expiry"
		numbers := numgen.E164(83, 300)
		es := plainEntries(numbers)
		for i := range es {
			switch i % 3 {
			case 0:
				es[i].ExpiresAt = time.Now().Add(-time.Hour)
			case 1:
				es[i].ExpiresAt = time.Now().Add(time.Hour)
			}
		}
		if _, err := New(b.rdb, "").Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		batch := slices.Repeat(numbers, 40) // about 40 x 16 numbers a bucket: every bucket read whole
		s := New(b.rdb, "")
		if st, _, err := s.Check(ctx, org, numbers[2], true); st != Listed || err != nil { // learns the table's size, and no expiry
			t.Fatal(st, err)
		}
		if s.c.asksOf(org).clock {
			t.Fatal("a check of an entry without an expiry taught the Store that the org's entries expire")
		}
		for round := range 2 {
			_, ls, err := s.CheckMany(ctx, org, batch, true)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range ls {
				if l != (i%len(numbers)%3 != 0) {
					t.Fatalf("round %d: CheckMany[%d] (expiry %v) = %v", round, i, es[i%len(numbers)].ExpiresAt, l)
				}
			}
			if !s.c.asksOf(org).clock {
				t.Fatalf("round %d: the Store did not learn that the org's entries expire", round)
			}
		}
	})
}

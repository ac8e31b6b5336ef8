package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetReplicas makes every write wait until n replicas of the node holding the org have
// acknowledged it, at most timeout (WAIT n timeout), and fail with ErrNotReplicated
// (the write is done) when fewer did. n = 0, the default, waits for none. It works with
// a *redis.Client, a failover client and a *redis.ClusterClient (WAIT runs on the
// org's master); set it before the Store is used.
func (s *Store) SetReplicas(n int, timeout time.Duration) {
	s.replicas, s.replicaTimeout = n, timeout
}

// ErrNotReplicated: a write is done, but fewer replicas than SetReplicas asked for
// acknowledged it in time; a failover now could lose it.
var ErrNotReplicated = errors.New("store: write not acknowledged by enough replicas")

// writer returns the client whose connection WAIT must share with the writes: the
// org's master on Redis Cluster, else the client itself.
func (s *Store) writer(ctx context.Context, key string) (redis.Cmdable, error) {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.MasterForKey(ctx, key)
	}
	return s.rdb, nil
}

func (s *Store) replicated(acked *redis.IntCmd) error {
	got, err := acked.Result()
	if err != nil {
		return err
	}
	if got < int64(s.replicas) {
		return fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, got, s.replicas, s.replicaTimeout)
	}
	return nil
}

// SetEnabled switches DNC on or off for org: in the stamp of each of its buckets, 500
// buckets a script (so its cost grows with the list: about one script per 8,000 listed
// numbers), and in its meta hash, which Enabled reads: first when switching off, last
// when switching on. Checks see the new setting bucket by bucket as the scripts run;
// when SetEnabled returns nil, every check does. A switch that fails part-way leaves
// some buckets on the new setting: when switching on, that only skips more (and
// Enabled still says off); call it again. If another SetEnabled of the org starts
// meanwhile, this one stops and returns nil: the later one's setting stands, and it
// is that call's result that says whether it reached every bucket.
func (s *Store) SetEnabled(ctx context.Context, org string, enabled bool) error {
	gen, from := any(""), int64(0)
	for {
		action := "disable"
		if enabled {
			action = "enable"
		}
		replies, err := s.pipeline(ctx, toggleScript, false, org, [][]any{s.audit(ctx, action, []any{flag(enabled), newEpoch(), gen, from})})
		if err != nil {
			return err
		}
		if len(replies) != 1 {
			return fmt.Errorf("%w: toggle: %d replies", ErrBadReply, len(replies))
		}
		reply, ok := replies[0].([]any)
		if !ok || len(reply) != 2 {
			return fmt.Errorf("%w: toggle: %v", ErrBadReply, replies[0])
		}
		g, ok1 := reply[0].(int64)
		next, ok2 := reply[1].(int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: toggle: %v", ErrBadReply, reply)
		}
		if g < 0 || next == 0 {
			return nil
		}
		gen, from = g, next
	}
}

// Add lists the entries' numbers (E.164, distinct) with their metadata and the given
// creation time, and reports which were added (false: already listed, left
// unchanged). It sets each added entry's ID, Seq and CreatedAt to what it wrote, and
// for a number listed already, ID and Seq to those of the entry that stays. The
// numbers go in scripts of WriteChunk (WriteChunkMeta when one has metadata), all sent
// in one pipeline; each script reads and checks what could fail before its first write
// (and deletes again the bucket fields it wrote if a number's bucket key turns out to
// be of another type), so every number in it is written with its record, log slot and
// counts, or none is (short of Redis reaching its memory limit). Entries without
// metadata travel as their digits alone. When Redis fails part-way, earlier scripts
// stay written (adding again is harmless) and the flags say which numbers are known to
// have been added.
func (s *Store) Add(ctx context.Context, org string, entries []Entry, now time.Time) ([]bool, error) {
	ms := now.UnixMilli()
	if ms < 0 || ms >= 1<<47 {
		return nil, fmt.Errorf("%w: createdAt %v: want a time from 1970 to 6429", ErrInvalidArgument, now)
	}
	ts, epoch := put48(ms), newEpoch()
	batches := make([][]any, 0, (len(entries)+WriteChunkMeta-1)/WriteChunkMeta)
	starts := make([]int, 0, cap(batches)) // starts[b]: the first entry of script b
	for lo, hi := 0, 0; lo < len(entries); lo = hi {
		// the script takes the digits alone when no entry has metadata, and fewer
		// entries when one has
		hi = min(lo+WriteChunk, len(entries))
		plain := !anyMeta(entries[lo:hi])
		if !plain {
			hi = min(lo+WriteChunkMeta, len(entries))
			plain = !anyMeta(entries[lo:hi])
		}
		chunk := entries[lo:hi]
		starts = append(starts, lo)
		args := make([]any, 0, 3+5*len(chunk)+auditArgs)
		if plain {
			args = append(args, ts, epoch, "1")
		} else {
			args = append(args, ts, epoch, "5")
		}
		for i := range chunk {
			e := &chunk[i]
			d, err := digits(e.Number)
			if err != nil {
				return nil, err
			}
			if plain {
				args = append(args, d)
			} else {
				x, err := packExpiry(e.ExpiresAt)
				if err != nil {
					return nil, err
				}
				args = append(args, d, e.Type, e.BatchID, packUUID(e.RequestUUID), x)
			}
		}
		batches = append(batches, s.audit(ctx, "add", args))
	}
	replies, err := s.pipeline(ctx, addScript, false, org, batches)
	added := make([]bool, 0, len(entries))
	key := keyOf(org)
	for b, r := range replies {
		if r == nil {
			break
		}
		seqs, ok := r.([]any)
		lo, hi := starts[b], len(entries)
		if b+1 < len(starts) {
			hi = starts[b+1]
		}
		if !ok || len(seqs) != hi-lo {
			return added, fmt.Errorf("%w: add: %v", ErrBadReply, r)
		}
		for i, v := range seqs {
			seq, ok := v.(int64)
			if !ok {
				return added, fmt.Errorf("%w: add: sequence %v", ErrBadReply, v)
			}
			added = append(added, seq > 0)
			e := &entries[lo+i]
			num := digitsValue(e.Number[1:]) // checked by digits above
			switch {
			case seq > 0:
				e.ID, e.Seq, e.CreatedAt = key.encode(num, uint64(seq)), uint64(seq), time.UnixMilli(ms).UTC()
				if !e.ExpiresAt.IsZero() {
					e.ExpiresAt = time.Unix(expirySeconds(e.ExpiresAt), 0).UTC()
				}
			case seq < 0: // listed already: the entry that stays
				e.ID, e.Seq = key.encode(num, uint64(-seq)), uint64(-seq)
			}
		}
	}
	return added, err
}

// anyMeta reports whether an entry of es has metadata or an expiry.
func anyMeta(es []Entry) bool {
	for i := range es {
		if e := &es[i]; e.Type != "" || e.BatchID != "" || e.RequestUUID != "" || !e.ExpiresAt.IsZero() {
			return true
		}
	}
	return false
}

// Remove unlists numbers (E.164) and drops their entries, and reports how many were
// listed. Scripts of WriteChunk numbers go in one pipeline; each is atomic.
func (s *Store) Remove(ctx context.Context, org string, numbers []string) (int, error) {
	batches := make([][]any, 0, (len(numbers)+WriteChunk-1)/WriteChunk)
	for lo := 0; lo < len(numbers); lo += WriteChunk {
		chunk := numbers[lo:min(lo+WriteChunk, len(numbers))]
		args := make([]any, 0, 2*len(chunk)+auditArgs)
		for _, n := range chunk {
			d, err := digits(n)
			if err != nil {
				return 0, err
			}
			args = append(args, d, "")
		}
		batches = append(batches, s.audit(ctx, "remove", args))
	}
	replies, err := s.pipeline(ctx, removeScript, false, org, batches)
	removed := 0
	for _, r := range replies {
		n, ok := r.(int64)
		if r != nil && !ok {
			return removed, fmt.Errorf("%w: remove: %T", ErrBadReply, r)
		}
		removed += int(n)
	}
	return removed, err
}

// DeleteByID unlists the number whose entry has the given id and returns it; ok is
// false when org has no entry with that id (nothing is changed then).
func (s *Store) DeleteByID(ctx context.Context, org, id string) (number string, ok bool, err error) {
	num, seq, valid := decodeID(org, id)
	if !valid {
		return "", false, nil
	}
	d := strconv.FormatUint(num, 10)
	replies, err := s.pipeline(ctx, removeScript, false, org, [][]any{s.audit(ctx, "delete", []any{d, strconv.FormatUint(seq, 10)})})
	if len(replies) == 0 || replies[0] == nil {
		return "", false, err
	}
	n, ok := replies[0].(int64)
	if !ok {
		return "", false, fmt.Errorf("%w: delete: %T", ErrBadReply, replies[0])
	}
	return "+" + d, n == 1, err
}

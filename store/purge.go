package store

import (
	"context"
	"fmt"
)

// PurgeBuckets is how many buckets one purge script reads (16 to 32 numbers each).
const PurgeBuckets = 32

// PurgeChunk is how many expired numbers one purge write script removes: half a write
// script of WriteChunk, so that a purge, which nobody waits for, holds Redis less at a
// time than an import.
const PurgeChunk = 16

// Purge removes org's entries that have expired by the Redis server's clock, and
// returns how many it removed. It walks the bucket table PurgeBuckets buckets a
// read-only script (expired.lua), and removes what each finds in write scripts of
// PurgeChunk numbers that check each expiry again (an entry re-added or extended
// meanwhile stays). Each removal is recorded in the audit log as "purge". An entry
// that expires after the walk began (by the server's clock, read once first) is left
// for the next purge.
func (s *Store) Purge(ctx context.Context, org string) (int, error) {
	now, err := s.serverTime(ctx, org)
	if err != nil {
		return 0, err
	}
	removed, from := 0, int64(0)
	for {
		reply, err := s.runRO(ctx, expiredScript, org, from, PurgeBuckets, int64(now)).Slice()
		if err != nil {
			return removed, scriptErr(err)
		}
		next, ok := reply[0].(int64)
		if !ok || next < 0 || (next != 0 && next <= from) {
			return removed, fmt.Errorf("%w: purge: %v", ErrBadReply, reply[0])
		}
		var batches [][]any
		for lo := 1; lo < len(reply); lo += PurgeChunk {
			chunk := reply[lo:min(lo+PurgeChunk, len(reply))]
			args := make([]any, 0, 2*len(chunk)+auditArgs)
			for _, v := range chunk {
				d, ok := v.(string)
				if _, valid := parseDigits(d); !ok || !valid {
					return removed, fmt.Errorf("%w: purge: number %v", ErrBadReply, v)
				}
				args = append(args, d, "x")
			}
			batches = append(batches, s.audit(ctx, "purge", args))
		}
		replies, err := s.pipeline(ctx, removeScript, false, org, batches)
		for _, r := range replies {
			if n, ok := r.(int64); ok {
				removed += int(n)
			}
		}
		if err != nil {
			return removed, err
		}
		if next == 0 {
			return removed, nil
		}
		from = next
	}
}

package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Check reports in one round trip whether DNC is enabled for org (defaultEnabled when
// never set) and, if so, whether number is listed; for a listed number it also returns
// its entry (the number alone, and an error wrapping ErrBadReply, when its record
// cannot be read). On any error the state is Listed.
//
// The round trip is one HMGET of the bucket that the org's bucket table, as this Store
// last saw it, names for the number: the bucket answers with the number's record, its
// own depth, and its stamp (the org's switch and data epoch). When the depth shows that
// the table has grown past what this Store saw, or the bucket does not exist, the check
// asks again with a read-only script that reads the table's size first (check.lua),
// and remembers the size. A listed entry's type and batch texts come from a cache of the
// org's dictionary, keyed by the epoch; a text not yet cached costs one more read.
func (s *Store) Check(ctx context.Context, org, number string, defaultEnabled bool) (State, Entry, error) {
	st, e, _, err := s.CheckEpoch(ctx, org, number, defaultEnabled)
	return st, e, err
}

// CheckEpoch is Check that also returns the epoch of the org's data: a random marker
// that the org's first write sets and that lasts as long as its data, "" when the org
// has no data. Data that comes back under another epoch, or none, was lost (a Redis
// restart without persistence, a flush) or replaced.
func (s *Store) CheckEpoch(ctx context.Context, org, number string, defaultEnabled bool) (State, Entry, string, error) {
	d, err := digits(number)
	if err != nil {
		return Listed, Entry{}, "", err
	}
	h := hashDigits(d)
	size := s.c.size(org)
	vals, err := s.rdb.HMGet(ctx, bucketKey(s.prefix, org, size.bucket(h)), d, "~d", "~e").Result()
	if err != nil {
		return Listed, Entry{}, "", err
	}
	if len(vals) != 3 {
		return Listed, Entry{}, "", fmt.Errorf("%w: check: %d values", ErrBadReply, len(vals))
	}
	depth, ok1 := vals[1].(string)
	st, ok2 := vals[2].(string)
	on, epoch, ok3 := readStamp(st, defaultEnabled)
	if !ok1 || !ok2 || !ok3 || !size.home(h, depth) {
		if vals[1] == nil && vals[2] == nil && s.c.empty(org) {
			return enabledState(defaultEnabled), Entry{}, "", nil // org has no data (see checkSlow)
		}
		return s.checkSlow(ctx, org, d, defaultEnabled)
	}
	if !on {
		return Disabled, Entry{}, epoch, nil
	}
	if vals[0] == nil {
		return NotListed, Entry{}, epoch, nil
	}
	rec, ok := vals[0].(string)
	if !ok {
		return Listed, Entry{Number: number}, epoch, fmt.Errorf("%w: check: record %T", ErrBadReply, vals[0])
	}
	dict, err := s.texts(ctx, org, epoch, rec)
	if err != nil {
		return Listed, Entry{Number: number}, epoch, err
	}
	e, err := decodeRecord(keyOf(org), d, rec, dict)
	if err != nil {
		return Listed, Entry{Number: number}, epoch, err
	}
	return Listed, e, epoch, nil
}

func enabledState(on bool) State {
	if on {
		return NotListed
	}
	return Disabled
}

// checkSlow is Check by the read-only script that reads the org's table size first. It
// remembers that size, and that an org has no data at all (so that its next checks, for
// a second, answer from the missing bucket alone).
func (s *Store) checkSlow(ctx context.Context, org, d string, defaultEnabled bool) (State, Entry, string, error) {
	reply, err := s.runRO(ctx, checkScript, org, d, flag(defaultEnabled)).Slice()
	if err != nil {
		return Listed, Entry{}, "", scriptErr(err)
	}
	if len(reply) < 4 {
		return Listed, Entry{}, "", fmt.Errorf("%w: check: %d values", ErrBadReply, len(reply))
	}
	state, ok0 := reply[0].(int64)
	L, ok1 := reply[1].(int64)
	p, ok2 := reply[2].(int64)
	epoch, ok3 := reply[3].(string)
	if !ok0 || !ok1 || !ok2 || !ok3 || L < 0 || L > 40 || p < 0 || p >= 1<<L || state < 0 || state > 2 {
		return Listed, Entry{}, "", fmt.Errorf("%w: check: %v", ErrBadReply, reply[:4])
	}
	s.c.setSize(org, tableSize{L: uint8(L), p: uint64(p)}, epoch == "")
	switch {
	case state == 0:
		return Disabled, Entry{}, epoch, nil
	case state == 1:
		return NotListed, Entry{}, epoch, nil
	case d == "" || len(reply) < 5:
		return Listed, Entry{}, epoch, fmt.Errorf("%w: check: listed without a record", ErrBadReply)
	}
	e, err := readEntry(org, d, reply[4:])
	if err != nil {
		return Listed, Entry{Number: "+" + d}, epoch, err
	}
	return Listed, e, epoch, nil
}

// readEntry decodes {record, index, text, ...} of the number with digits d.
func readEntry(org, d string, reply []any) (Entry, error) {
	rec, ok := reply[0].(string)
	if !ok {
		return Entry{Number: "+" + d}, fmt.Errorf("%w: record %T", ErrBadReply, reply[0])
	}
	dict, err := readDict(reply[1:])
	if err != nil {
		return Entry{Number: "+" + d}, err
	}
	return decodeRecord(keyOf(org), d, rec, dict)
}

// readDict reads index, text pairs; a text that is missing (nil) is left out, so that
// the record naming it fails to decode.
func readDict(kv []any) (map[uint64]string, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("%w: dictionary of %d values", ErrBadReply, len(kv))
	}
	dict := make(map[uint64]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		idx, ok := kv[i].(int64)
		if !ok || idx <= 0 {
			return nil, fmt.Errorf("%w: dictionary index %v", ErrBadReply, kv[i])
		}
		if text, ok := kv[i+1].(string); ok {
			dict[uint64(idx)] = text
		}
	}
	return dict, nil
}

// CheckMany reports whether DNC is enabled for org and, when it is, which of numbers
// (E.164) are listed (listed[i] for numbers[i]), in one round trip to the node that
// holds the org (see CheckManyEpoch). If the org's switch or data changes while the
// batch is read, it asks again, and then fails with ErrBadReply rather than answer for
// part of the batch.
func (s *Store) CheckMany(ctx context.Context, org string, numbers []string, defaultEnabled bool) (enabled bool, listed []bool, err error) {
	enabled, listed, _, err = s.CheckManyEpoch(ctx, org, numbers, defaultEnabled)
	return enabled, listed, err
}

// CheckManyEpoch is CheckMany that also returns the epoch of the org's data, as
// CheckEpoch does.
//
// It reads the buckets the numbers lie in with one pipelined HMGET per bucket, as Check
// does; when the org's bucket table has grown since this Store last saw it, it reads
// the table's size and tries once more, and else asks read-only scripts (check_many.lua)
// that compute the buckets themselves.
func (s *Store) CheckManyEpoch(ctx context.Context, org string, numbers []string, defaultEnabled bool) (enabled bool, listed []bool, epoch string, err error) {
	if len(numbers) == 0 {
		on, err := s.Enabled(ctx, org, defaultEnabled)
		return on, []bool{}, "", err
	}
	ds := make([]string, len(numbers))
	for i, n := range numbers {
		if ds[i], err = digits(n); err != nil {
			return true, nil, "", err
		}
	}
	for try := 0; try < 2; try++ {
		enabled, listed, epoch, err = s.checkBuckets(ctx, org, ds, defaultEnabled)
		if !errors.Is(err, errStale) {
			return enabled, listed, epoch, err
		}
		if _, _, _, err := s.checkSlow(ctx, org, "", defaultEnabled); err != nil { // learns the table's size
			return true, nil, "", err
		}
	}
	return s.checkManyScripts(ctx, org, ds, defaultEnabled)
}

// errStale: a bucket read is not the home of a number it was read for (the table grew),
// or is missing.
var errStale = errors.New("bucket table out of date")

// checkBuckets is CheckManyEpoch by one pipelined HMGET per bucket of the org's table as
// this Store last saw it; errStale when that is out of date.
func (s *Store) checkBuckets(ctx context.Context, org string, ds []string, defaultEnabled bool) (bool, []bool, string, error) {
	size := s.c.size(org)
	type group struct {
		fields []string
		at     []int
	}
	hs := make([]uint64, len(ds))
	groups := make(map[uint64]*group)
	for i, d := range ds {
		hs[i] = hashDigits(d)
		b := size.bucket(hs[i])
		g := groups[b]
		if g == nil {
			g = &group{}
			groups[b] = g
		}
		g.fields, g.at = append(g.fields, d), append(g.at, i)
	}
	pipe := s.rdb.Pipeline()
	cmds := make(map[uint64]*redis.SliceCmd, len(groups))
	for b, g := range groups {
		cmds[b] = pipe.HMGet(ctx, bucketKey(s.prefix, org, b), append(g.fields, "~d", "~e")...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return true, nil, "", err
	}
	listed := make([]bool, len(ds))
	stamp, missing := "", false
	for b, g := range groups {
		vals, err := cmds[b].Result()
		if err != nil {
			return true, nil, "", err
		}
		if len(vals) != len(g.fields)+2 {
			return true, nil, "", fmt.Errorf("%w: check many: %d values", ErrBadReply, len(vals))
		}
		depth, st := vals[len(vals)-2], vals[len(vals)-1]
		if depth == nil && st == nil {
			missing = true // no such bucket: the org has no data, or the table shrank (reset)
			continue
		}
		dstr, ok1 := depth.(string)
		sstr, ok2 := st.(string)
		if !ok1 || !ok2 {
			return true, nil, "", fmt.Errorf("%w: check many: bucket fields %T %T", ErrBadReply, depth, st)
		}
		if stamp != "" && sstr != stamp {
			return true, nil, "", errStale // switched, or reset, between two buckets
		}
		stamp = sstr
		D, ok := parseDepth(dstr)
		if !ok {
			return true, nil, "", fmt.Errorf("%w: check many: bucket depth %q", ErrBadReply, dstr)
		}
		for j, i := range g.at {
			if !size.homeAt(hs[i], D) {
				return true, nil, "", errStale
			}
			listed[i] = vals[j] != nil
		}
	}
	if missing {
		if stamp != "" || !s.c.empty(org) {
			return true, nil, "", errStale
		}
		return defaultEnabled, make([]bool, len(ds)), "", nil // the org has no data
	}
	on, epoch, ok := readStamp(stamp, defaultEnabled)
	if !ok {
		return true, nil, "", fmt.Errorf("%w: check many: stamp %q", ErrBadReply, stamp)
	}
	if !on {
		return false, nil, epoch, nil
	}
	return true, listed, epoch, nil
}

// checkManyScripts is CheckManyEpoch by read-only scripts, ChunkSize numbers each, in
// one pipeline.
func (s *Store) checkManyScripts(ctx context.Context, org string, ds []string, defaultEnabled bool) (enabled bool, listed []bool, epoch string, err error) {
	batches := make([][]any, 0, (len(ds)+ChunkSize-1)/ChunkSize)
	for lo := 0; lo < len(ds); lo += ChunkSize {
		chunk := ds[lo:min(lo+ChunkSize, len(ds))]
		args := make([]any, 0, 1+len(chunk))
		args = append(args, flag(defaultEnabled))
		for _, d := range chunk {
			args = append(args, d)
		}
		batches = append(batches, args)
	}
	for try := 0; try < 2; try++ {
		replies, err := s.pipeline(ctx, checkManyScript, true, org, batches)
		if err != nil {
			return true, nil, "", err
		}
		enabled, listed, epoch, err = readCheckMany(replies, batches, len(ds))
		if !errors.Is(err, errSwitched) {
			return enabled, listed, epoch, err
		}
	}
	return true, nil, "", fmt.Errorf("%w: check many: the org's switch or data changed during the batch", ErrBadReply)
}

var errSwitched = errors.New("switched")

func readCheckMany(replies []any, batches [][]any, total int) (bool, []bool, string, error) {
	listed := make([]bool, 0, total)
	on, off := false, false
	epoch := ""
	for i, r := range replies {
		vals, ok := r.([]any)
		if !ok || len(vals) < 2 {
			return true, nil, "", fmt.Errorf("%w: check many: %v", ErrBadReply, r)
		}
		e, ok := vals[1].(string)
		if !ok {
			return true, nil, "", fmt.Errorf("%w: check many: epoch %T", ErrBadReply, vals[1])
		}
		if i > 0 && e != epoch {
			return true, nil, "", errSwitched
		}
		epoch = e
		if vals[0] == int64(0) {
			off = true
			continue
		}
		on = true
		if len(vals)-2 != len(batches[i])-1 {
			return true, nil, "", fmt.Errorf("%w: check many answered %d of %d", ErrBadReply, len(vals)-2, len(batches[i])-1)
		}
		for _, v := range vals[2:] {
			listed = append(listed, v == int64(1))
		}
	}
	switch {
	case on && off:
		return true, nil, "", errSwitched
	case off:
		return false, nil, epoch, nil
	}
	return true, listed, epoch, nil
}

// Enabled reports whether DNC is on for org, or def when org never set it.
func (s *Store) Enabled(ctx context.Context, org string, def bool) (bool, error) {
	st, _, _, err := s.checkSlow(ctx, org, "", def)
	return st != Disabled, err
}

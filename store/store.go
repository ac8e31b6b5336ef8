// Package store keeps DNC state in Redis: the per-org switch and the org's list of
// numbers with their entries. It receives numbers already in E.164 and org ids already
// checked (CheckOrg); it knows nothing of parsing or policy.
//
// The layout (keys.go) holds a listed number, its metadata and its place in the
// listing order in small listpack hashes under the org's hash tag, so a million
// numbers cost about what a plain SET of them costs, and every operation reads a fixed
// number of small keys whatever the list's size. Every operation is one Lua script
// (embedded from lua/*.lua, run with go-redis' Script: EVALSHA, falling back to EVAL),
// or one pipeline of them, so one round trip. A Store is safe for concurrent use.
package store

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

// script returns the embedded script name, behind the shared functions of lib.lua.
func script(name string) *redis.Script {
	lib, err := luaFS.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	src, err := luaFS.ReadFile("lua/" + name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(lib) + "\n" + string(src))
}

var (
	checkScript     = script("check.lua")
	checkManyScript = script("check_many.lua")
	toggleScript    = script("toggle.lua")
	addScript       = script("add.lua")
	removeScript    = script("remove.lua")
	getScript       = script("get.lua")
	listScript      = script("list.lua")
	scanScript      = script("scan.lua")
)

// ChunkSize is how many numbers one script call carries at most when checking; the
// write scripts carry WriteChunk. Larger calls are split, so that no single script
// holds Redis for long.
const ChunkSize = 1000

// WriteChunk is how many numbers one add or remove script writes at most: about 1 ms
// of Redis time on the 2-core machines this is measured on (an add costs Redis 8 to 14
// µs of Lua a number there), so that a check queued behind a write waits little.
const WriteChunk = 64

// Errors of the storage layer.
var (
	// ErrBadReply: Redis answered with a reply of a shape the store did not ask for, or
	// the org's keys hold data the store did not write.
	ErrBadReply = errors.New("store: unexpected reply from redis")
	// ErrSchema: the org's data is of another layout version (SchemaVersion); nothing
	// was read or written.
	ErrSchema = errors.New("store: data of another layout version")
	// ErrFull: the org has used all MaxSeq sequence numbers; nothing was written.
	ErrFull = errors.New("store: the org's sequence numbers are used up")
)

// Store is the Redis storage of DNC state.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	c      caches

	replicas       int // SetReplicas
	replicaTimeout time.Duration
}

// New returns a Store over rdb whose keys start with prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix, c: newCaches()}
}

// Entry is one listed number and what is known of it.
type Entry struct {
	ID          string    // opaque, stable for the life of the entry (24 hex digits)
	Number      string    // E.164
	Type        string    // classification, e.g. "customer_request"; may be empty
	BatchID     string    // the campaign or batch the opt-out came from; may be empty
	RequestUUID string    // the call or request that produced the opt-out; may be empty
	CreatedAt   time.Time // when it was listed, in ms precision, UTC
}

// State is the outcome of a check.
type State int8

const (
	Disabled  State = iota // DNC is switched off for the org
	NotListed              // enabled, and the number is not on the list
	Listed                 // enabled, and the number is on the list
)

// errNotE164 guards the scripts: only "+" and 1 to 15 digits, the first not 0.
var errNotE164 = errors.New("store: numbers must be E.164")

// digits returns number without its "+", or an error if it is not E.164.
func digits(number string) (string, error) {
	if len(number) < 2 || len(number) > 16 || number[0] != '+' || number[1] == '0' {
		return "", fmt.Errorf("%w: %q", errNotE164, number)
	}
	for i := 1; i < len(number); i++ {
		if c := number[i]; c < '0' || c > '9' {
			return "", fmt.Errorf("%w: %q", errNotE164, number)
		}
	}
	return number[1:], nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// scriptErr turns the scripts' own error replies into the store's errors.
func scriptErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "DNCSCHEMA"):
		return fmt.Errorf("%w: %s", ErrSchema, msg[strings.Index(msg, "DNCSCHEMA")+len("DNCSCHEMA "):])
	case strings.Contains(msg, "DNCFULL"):
		return ErrFull
	case strings.Contains(msg, "DNCCORRUPT"):
		return fmt.Errorf("%w: %s", ErrBadReply, msg)
	}
	return err
}

func (s *Store) runRO(ctx context.Context, sc *redis.Script, org string, args ...any) *redis.Cmd {
	k := orgKeys(s.prefix, org)
	return sc.RunRO(ctx, s.rdb, k[:], args...)
}

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
	sw, epoch, ok3 := strings.Cut(st, ":")
	if !ok1 || !ok2 || !ok3 || !size.home(h, depth) {
		if vals[1] == nil && vals[2] == nil && s.c.empty(org) {
			return enabledState(defaultEnabled), Entry{}, "", nil // org has no data (see checkSlow)
		}
		return s.checkSlow(ctx, org, d, defaultEnabled)
	}
	if sw == "0" || (sw == "-" && !defaultEnabled) {
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
	e, err := decodeRecord(org, d, rec, dict)
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
	return decodeRecord(org, d, rec, dict)
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
// (E.164) are listed (listed[i] for numbers[i]). It sends one pipeline of read-only
// scripts, ChunkSize numbers each, so one round trip to the node that holds the org.
// If the org's switch changes between two of the scripts, it asks once more, and then
// fails with ErrBadReply rather than answer for part of the batch.
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
	sw, epoch, ok := strings.Cut(stamp, ":")
	if !ok {
		return true, nil, "", fmt.Errorf("%w: check many: stamp %q", ErrBadReply, stamp)
	}
	if sw == "0" || (sw == "-" && !defaultEnabled) {
		return false, nil, epoch, nil
	}
	return true, listed, epoch, nil
}

// checkManyScripts is CheckManyEpoch by read-only scripts, ChunkSize numbers each, in
// one pipeline.
func (s *Store) checkManyScripts(ctx context.Context, org string, ds []string, defaultEnabled bool) (enabled bool, listed []bool, epoch string, err error) {
	numbers := ds
	batches := make([][]any, 0, (len(numbers)+ChunkSize-1)/ChunkSize)
	for lo := 0; lo < len(numbers); lo += ChunkSize {
		chunk := numbers[lo:min(lo+ChunkSize, len(numbers))]
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
		enabled, listed, epoch, err = readCheckMany(replies, batches, len(numbers))
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

// pipeline runs sc once per batch of arguments, all in one pipeline (one round trip
// per node), and returns each run's reply in order. A run answered NOSCRIPT (the server
// restarted or its script cache was flushed) did nothing: the script is loaded and
// those runs, and only those, are sent again, in order.
//
// A write (ro false) under SetReplicas ends its pipeline with WAIT on the node that
// holds the org, so the pipeline's writes (and every earlier one) are acknowledged by
// that many replicas, or the error wraps ErrNotReplicated: the writes are done.
func (s *Store) pipeline(ctx context.Context, sc *redis.Script, ro bool, org string, batches [][]any) ([]any, error) {
	k := orgKeys(s.prefix, org)
	out := make([]any, len(batches))
	todo := make([]int, len(batches))
	for i := range todo {
		todo[i] = i
	}
	var c redis.Cmdable = s.rdb
	wait := !ro && s.replicas > 0
	if wait {
		var err error
		if c, err = s.writer(ctx, k[0]); err != nil {
			return out, err
		}
	}
	for attempt := 0; ; attempt++ {
		pipe := c.Pipeline()
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			if ro {
				cmds[j] = sc.EvalShaRO(ctx, pipe, k[:], batches[i]...)
			} else {
				cmds[j] = sc.EvalSha(ctx, pipe, k[:], batches[i]...)
			}
		}
		var acked *redis.IntCmd
		if wait {
			acked = redis.NewIntCmd(ctx, "wait", s.replicas, s.replicaTimeout.Milliseconds())
			_ = pipe.Process(ctx, acked)
		}
		_, _ = pipe.Exec(ctx) // each command's error is read below
		var again []int
		var failed error
		for j, c := range cmds {
			v, err := c.Result()
			switch {
			case err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, todo[j])
			case err != nil:
				failed = cmp.Or(failed, scriptErr(err))
			default:
				out[todo[j]] = v
			}
		}
		if failed != nil {
			return out, failed
		}
		if len(again) == 0 {
			if wait {
				return out, s.replicated(acked)
			}
			return out, nil
		}
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return nil, err
		}
		todo = again
	}
}

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

// SetEnabled switches DNC on or off for org: in its meta hash, then in the stamp of each
// of its buckets, 500 buckets a script (so the cost grows with the list: about one
// script per 20,000 listed numbers). Checks see the new setting bucket by bucket as the
// scripts run; when SetEnabled returns, every check does. If another SetEnabled of the
// org starts meanwhile, this one stops and the later one finishes the work.
func (s *Store) SetEnabled(ctx context.Context, org string, enabled bool) error {
	gen, from := any(""), int64(0)
	for {
		replies, err := s.pipeline(ctx, toggleScript, false, org, [][]any{{flag(enabled), newEpoch(), gen, from}})
		if err != nil {
			return err
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

// Enabled reports whether DNC is on for org, or def when org never set it.
func (s *Store) Enabled(ctx context.Context, org string, def bool) (bool, error) {
	st, _, _, err := s.checkSlow(ctx, org, "", def)
	return st != Disabled, err
}

// Add lists the entries' numbers (E.164, distinct) with their metadata and the given
// creation time, and reports which were added (false: already listed, left
// unchanged). It sets each added entry's ID and CreatedAt to what it wrote. The
// numbers go in scripts of WriteChunk, all sent in one pipeline; each script is atomic
// (every number in it is written with its record, log slot and count, or none is).
// When Redis fails part-way, earlier scripts stay written (adding again is harmless)
// and the flags say which numbers are known to have been added.
func (s *Store) Add(ctx context.Context, org string, entries []Entry, now time.Time) ([]bool, error) {
	ms := now.UnixMilli()
	ts, epoch := put48(ms), newEpoch()
	batches := make([][]any, 0, (len(entries)+WriteChunk-1)/WriteChunk)
	for lo := 0; lo < len(entries); lo += WriteChunk {
		chunk := entries[lo:min(lo+WriteChunk, len(entries))]
		args := make([]any, 0, 2+4*len(chunk))
		args = append(args, ts, epoch)
		for i := range chunk {
			e := &chunk[i]
			d, err := digits(e.Number)
			if err != nil {
				return nil, err
			}
			args = append(args, d, e.Type, e.BatchID, packUUID(e.RequestUUID))
		}
		batches = append(batches, args)
	}
	replies, err := s.pipeline(ctx, addScript, false, org, batches)
	added := make([]bool, 0, len(entries))
	key := keyOf(org)
	for b, r := range replies {
		if r == nil {
			break
		}
		seqs, ok := r.([]any)
		lo := b * WriteChunk
		if !ok || len(seqs) != min(WriteChunk, len(entries)-lo) {
			return added, fmt.Errorf("%w: add: %v", ErrBadReply, r)
		}
		for i, v := range seqs {
			seq, ok := v.(int64)
			if !ok || seq < 0 {
				return added, fmt.Errorf("%w: add: sequence %v", ErrBadReply, v)
			}
			added = append(added, seq > 0)
			if seq > 0 {
				e := &entries[lo+i]
				num, _ := strconv.ParseUint(e.Number[1:], 10, 64)
				e.ID, e.CreatedAt = key.encode(num, uint64(seq)), time.UnixMilli(ms).UTC()
			}
		}
	}
	return added, err
}

// Remove unlists numbers (E.164) and drops their entries, and reports how many were
// listed. Scripts of WriteChunk numbers go in one pipeline; each is atomic.
func (s *Store) Remove(ctx context.Context, org string, numbers []string) (int, error) {
	batches := make([][]any, 0, (len(numbers)+WriteChunk-1)/WriteChunk)
	for lo := 0; lo < len(numbers); lo += WriteChunk {
		chunk := numbers[lo:min(lo+WriteChunk, len(numbers))]
		args := make([]any, 0, 2*len(chunk))
		for _, n := range chunk {
			d, err := digits(n)
			if err != nil {
				return 0, err
			}
			args = append(args, d, "")
		}
		batches = append(batches, args)
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

// Get returns the entry of a listed number; ok is false when it is not listed.
func (s *Store) Get(ctx context.Context, org, number string) (e Entry, ok bool, err error) {
	d, err := digits(number)
	if err != nil {
		return Entry{}, false, err
	}
	return s.get(ctx, org, d, "")
}

func (s *Store) get(ctx context.Context, org, d, seq string) (Entry, bool, error) {
	reply, err := s.runRO(ctx, getScript, org, d, seq).Slice()
	if err != nil {
		return Entry{}, false, scriptErr(err)
	}
	if len(reply) == 0 {
		return Entry{}, false, nil
	}
	e, err := readEntry(org, d, reply)
	return e, err == nil, err
}

// GetByID returns org's entry with the given id; ok is false when org has none (an id
// of another org, a stale or a made-up id).
func (s *Store) GetByID(ctx context.Context, org, id string) (e Entry, ok bool, err error) {
	num, seq, valid := decodeID(org, id)
	if !valid {
		return Entry{}, false, nil
	}
	return s.get(ctx, org, strconv.FormatUint(num, 10), strconv.FormatUint(seq, 10))
}

// DeleteByID unlists the number whose entry has the given id and returns it; ok is
// false when org has no entry with that id (nothing is changed then).
func (s *Store) DeleteByID(ctx context.Context, org, id string) (number string, ok bool, err error) {
	num, seq, valid := decodeID(org, id)
	if !valid {
		return "", false, nil
	}
	d := strconv.FormatUint(num, 10)
	replies, err := s.pipeline(ctx, removeScript, false, org, [][]any{{d, strconv.FormatUint(seq, 10)}})
	if replies[0] == nil {
		return "", false, err
	}
	n, ok := replies[0].(int64)
	if !ok {
		return "", false, fmt.Errorf("%w: delete: %T", ErrBadReply, replies[0])
	}
	return "+" + d, n == 1, err
}

// Count returns how many numbers org has listed.
func (s *Store) Count(ctx context.Context, org string) (int64, error) {
	_, total, err := s.List(ctx, org, 0, 0)
	return total, err
}

// Scan returns some of org's listed numbers from cursor on (0 starts), about count of
// them, and the cursor to pass next (0 when done). A number listed for the whole scan
// is returned at least once; numbers added or removed meanwhile may or may not be. A
// page may be empty before the scan ends.
func (s *Store) Scan(ctx context.Context, org string, cursor uint64, count int64) ([]string, uint64, error) {
	reply, err := s.runRO(ctx, scanScript, org, cursor, max(count, 1)).Slice()
	if err != nil {
		return nil, 0, scriptErr(err)
	}
	if len(reply) == 0 {
		return nil, 0, fmt.Errorf("%w: scan: empty reply", ErrBadReply)
	}
	next, ok := reply[0].(int64)
	if !ok || next < 0 {
		return nil, 0, fmt.Errorf("%w: scan cursor %v", ErrBadReply, reply[0])
	}
	numbers := make([]string, 0, len(reply)-1)
	for _, v := range reply[1:] {
		d, ok := v.(string)
		if !ok {
			return nil, 0, fmt.Errorf("%w: scan: %T", ErrBadReply, v)
		}
		numbers = append(numbers, "+"+d)
	}
	return numbers, uint64(next), nil
}

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// listPart is the most entries one list script reads, to bound its time.
const listPart = 200

// List returns the page of org's entries that starts at offset (0-based) and holds at
// most limit entries (0 to MaxListLimit), newest first, and the total count. A page of
// up to 200 entries is one round trip (one script) whose cost does not grow with the
// list or the offset; a longer page is read in parts of 200, one script each.
func (s *Store) List(ctx context.Context, org string, offset, limit int) ([]Entry, int64, error) {
	if offset < 0 || limit < 0 || limit > MaxListLimit {
		return nil, 0, fmt.Errorf("store: list: offset %d, limit %d out of range", offset, limit)
	}
	var all []Entry
	for {
		part, total, err := s.listPart(ctx, org, offset+len(all), min(limit-len(all), listPart))
		if err != nil {
			return nil, 0, err
		}
		all = append(all, part...)
		if len(part) < listPart || len(all) >= limit {
			if all == nil {
				all = []Entry{}
			}
			return all, total, nil
		}
	}
}

func (s *Store) listPart(ctx context.Context, org string, offset, limit int) ([]Entry, int64, error) {
	reply, err := s.runRO(ctx, listScript, org, offset, limit).Slice()
	if err != nil {
		return nil, 0, scriptErr(err)
	}
	if len(reply) < 2 {
		return nil, 0, fmt.Errorf("%w: list: %d values", ErrBadReply, len(reply))
	}
	total, ok1 := reply[0].(int64)
	k, ok2 := reply[1].(int64)
	if !ok1 || !ok2 || k < 0 || int64(len(reply)) < 2+2*k {
		return nil, 0, fmt.Errorf("%w: list header %v %v", ErrBadReply, reply[0], reply[1])
	}
	dict, err := readDict(reply[2+2*k:])
	if err != nil {
		return nil, 0, err
	}
	entries := make([]Entry, 0, k)
	for i := int64(0); i < k; i++ {
		d, ok1 := reply[2+2*i].(string)
		rec, ok2 := reply[3+2*i].(string)
		if !ok1 || !ok2 {
			return nil, 0, fmt.Errorf("%w: list entry %T %T", ErrBadReply, reply[2+2*i], reply[3+2*i])
		}
		e, err := decodeRecord(org, d, rec, dict)
		if err != nil {
			return nil, 0, err
		}
		entries = append(entries, e)
	}
	return entries, total, nil
}

// Query is what Search looks for: entries whose number starts with one of Prefixes
// (E.164 digits without "+"), or whose type, batchId or requestUUID equals Text, in any
// case. An empty Query matches nothing.
type Query struct {
	Prefixes []string
	Text     string
}

// Search limits.
const (
	// SearchBlocks is how many log blocks (of 128 sequence numbers) one search script
	// reads: it bounds the time one script holds Redis.
	SearchBlocks = 2
	// MaxSearchScan is the most entries one Search reads; a list longer than that is
	// searched only by a full number, and other searches fail with ErrSearchTooBroad.
	MaxSearchScan = 200_000
)

// ErrSearchTooBroad: a Search would read more than MaxSearchScan entries.
var ErrSearchTooBroad = errors.New("store: search would read too much of a long list")

var searchScript = script("search.lua")

// Search returns the page (offset, limit as in List) of org's entries that match q,
// newest first, and how many match in all. It reads the listing newest first,
// SearchBlocks log blocks a script, so Redis is never held long, but its cost grows
// with the list's length: it refuses (ErrSearchTooBroad) a list longer than
// MaxSearchScan entries. A search for one full number is Get, whatever the list's size.
func (s *Store) Search(ctx context.Context, org string, q Query, offset, limit int) ([]Entry, int64, error) {
	if offset < 0 || limit < 0 || limit > MaxListLimit {
		return nil, 0, fmt.Errorf("store: search: offset %d, limit %d out of range", offset, limit)
	}
	if len(q.Prefixes) == 0 && q.Text == "" {
		return []Entry{}, 0, nil
	}
	if total, err := s.Count(ctx, org); err != nil {
		return nil, 0, err
	} else if total > MaxSearchScan {
		return nil, 0, fmt.Errorf("%w: the list has %d entries; searches other than by a full number read at most %d", ErrSearchTooBroad, total, MaxSearchScan)
	}
	text := strings.ToLower(q.Text)
	uuid := ""
	if b, _, ok := uuidBytes(text); ok {
		uuid = string(b[:])
	}
	args := []any{"", SearchBlocks, text, uuid}
	for _, p := range q.Prefixes {
		args = append(args, p)
	}
	var matches []Entry
	for {
		reply, err := s.runRO(ctx, searchScript, org, args...).Slice()
		if err != nil {
			return nil, 0, scriptErr(err)
		}
		next, page, err := readSearch(org, reply)
		if err != nil {
			return nil, 0, err
		}
		matches = append(matches, page...)
		if next < 0 {
			break
		}
		args[0] = next
	}
	total := int64(len(matches))
	if offset >= len(matches) {
		return []Entry{}, total, nil
	}
	return matches[offset:min(offset+limit, len(matches))], total, nil
}

func readSearch(org string, reply []any) (int64, []Entry, error) {
	if len(reply) < 2 {
		return 0, nil, fmt.Errorf("%w: search: %d values", ErrBadReply, len(reply))
	}
	next, ok1 := reply[0].(int64)
	k, ok2 := reply[1].(int64)
	if !ok1 || !ok2 || k < 0 || int64(len(reply)) < 2+2*k {
		return 0, nil, fmt.Errorf("%w: search header %v %v", ErrBadReply, reply[0], reply[1])
	}
	dict, err := readDict(reply[2+2*k:])
	if err != nil {
		return 0, nil, err
	}
	entries := make([]Entry, 0, k)
	for i := int64(0); i < k; i++ {
		d, ok1 := reply[2+2*i].(string)
		rec, ok2 := reply[3+2*i].(string)
		if !ok1 || !ok2 {
			return 0, nil, fmt.Errorf("%w: search entry %T %T", ErrBadReply, reply[2+2*i], reply[3+2*i])
		}
		if rec == "" {
			continue // removed or listed again since the log slot was read
		}
		e, err := decodeRecord(org, d, rec, dict)
		if err != nil {
			return 0, nil, err
		}
		entries = append(entries, e)
	}
	return next, entries, nil
}

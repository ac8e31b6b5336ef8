package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/redis/go-redis/v9"
	"slices"
	"strconv"
	"strings"
)

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
	entries, key := make([]Entry, 0, k), keyOf(org)
	for i := int64(0); i < k; i++ {
		d, ok1 := reply[2+2*i].(string)
		rec, ok2 := reply[3+2*i].(string)
		if !ok1 || !ok2 {
			return nil, 0, fmt.Errorf("%w: list entry %T %T", ErrBadReply, reply[2+2*i], reply[3+2*i])
		}
		if rec == "" {
			continue // a log slot whose record is gone or is another's: left by foreign data
		}
		e, err := decodeRecord(key, d, rec, dict)
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
	entries, key := make([]Entry, 0, k), keyOf(org)
	for i := int64(0); i < k; i++ {
		d, ok1 := reply[2+2*i].(string)
		rec, ok2 := reply[3+2*i].(string)
		if !ok1 || !ok2 {
			return 0, nil, fmt.Errorf("%w: search entry %T %T", ErrBadReply, reply[2+2*i], reply[3+2*i])
		}
		if rec == "" {
			continue // removed or listed again since the log slot was read
		}
		e, err := decodeRecord(key, d, rec, dict)
		if err != nil {
			return 0, nil, err
		}
		entries = append(entries, e)
	}
	return next, entries, nil
}

// WalkBlocks is how many log blocks (of 128 sequence numbers) one Walk reads: up to
// 1,024 entries, in two round trips of plain reads (HGETALL of the blocks, then one
// HMGET per bucket), and a third for dictionary texts not cached yet.
const WalkBlocks = 8

// Walk returns org's entries in listing order, oldest first, a part at a time: start
// with cursor 0 and pass the returned cursor back until it is -1. An entry listed for
// the whole walk is returned exactly once; one added meanwhile is returned if the walk
// has not passed its place yet (new entries go last), one removed meanwhile may or may
// not be. A part may be empty before the walk ends. It runs no script, so Redis is
// never held for more than one command (an entry whose record moved while it was read,
// as the bucket table grew, is read again with one script of its own).
func (s *Store) Walk(ctx context.Context, org string, cursor int64) ([]Entry, int64, error) {
	if cursor < 0 {
		return nil, -1, fmt.Errorf("store: walk: cursor %d", cursor)
	}
	k, base := orgKeys(s.prefix, org), Base(s.prefix, org)
	pipe := s.rdb.Pipeline()
	meta := pipe.HMGet(ctx, k[0], "v", "L", "p", "seq", "epoch")
	logs := make([]*redis.MapStringStringCmd, WalkBlocks)
	for i := range logs {
		logs[i] = pipe.HGetAll(ctx, base+"l:"+strconv.FormatInt(cursor+int64(i), 10))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, err
	}
	m := meta.Val()
	if v, _ := m[0].(string); v != strconv.Itoa(SchemaVersion) {
		if _, err := s.Count(ctx, org); err != nil || cursor > 0 { // the script says why (ErrSchema, ...)
			return nil, 0, cmp.Or(err, fmt.Errorf("%w: walk: the org's data went away at block %d", ErrBadReply, cursor))
		}
		return nil, -1, nil // no data
	}
	L, err1 := strconv.ParseUint(str(m[1]), 10, 8)
	p, err2 := strconv.ParseUint(str(m[2]), 10, 64)
	seq, err3 := strconv.ParseInt(str(m[3]), 10, 64)
	epoch := str(m[4])
	if err := cmp.Or(err1, err2, err3); err != nil || L > 62 || p >= 1<<L {
		return nil, 0, fmt.Errorf("%w: walk: meta %v", ErrBadReply, m)
	}
	table := tableSize{L: uint8(L), p: p}
	type slot struct {
		seq    uint64
		digits string
		rec    string
		found  bool
	}
	var slots []slot
	for i, c := range logs {
		for off, d := range c.Val() {
			o, err := strconv.ParseUint(off, 10, 8)
			if _, ok := parseDigits(d); err != nil || o >= 128 || !ok {
				continue // not the store's: foreign data
			}
			slots = append(slots, slot{seq: uint64(cursor+int64(i))*128 + o, digits: d})
		}
	}
	slices.SortFunc(slots, func(a, b slot) int { return cmp.Compare(a.seq, b.seq) })
	// The records, one HMGET per bucket.
	byBucket := map[uint64][]int{}
	for i, sl := range slots {
		b := table.bucket(hashDigits(sl.digits))
		byBucket[b] = append(byBucket[b], i)
	}
	pipe = s.rdb.Pipeline()
	type read struct {
		cmd   *redis.SliceCmd
		slots []int
	}
	reads := make([]read, 0, len(byBucket))
	for b, idx := range byBucket {
		fields := make([]string, len(idx))
		for j, i := range idx {
			fields[j] = slots[i].digits
		}
		reads = append(reads, read{pipe.HMGet(ctx, bucketKey(s.prefix, org, b), fields...), idx})
	}
	if len(reads) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, 0, err
		}
	}
	var recs []string
	for _, r := range reads {
		vals := r.cmd.Val()
		if len(vals) != len(r.slots) {
			return nil, 0, fmt.Errorf("%w: walk: %d records for %d numbers", ErrBadReply, len(vals), len(r.slots))
		}
		for j, i := range r.slots {
			if rec, ok := vals[j].(string); ok {
				slots[i].rec, slots[i].found = rec, true
				recs = append(recs, rec)
			}
		}
	}
	dict, err := s.texts(ctx, org, epoch, recs...)
	if err != nil {
		return nil, 0, err
	}
	entries, key := make([]Entry, 0, len(slots)), keyOf(org)
	for _, sl := range slots {
		if !sl.found { // removed, or moved by a split since the table size was read
			e, ok, err := s.get(ctx, org, sl.digits, strconv.FormatUint(sl.seq, 10))
			if err != nil {
				return nil, 0, err
			}
			if ok {
				entries = append(entries, e)
			}
			continue
		}
		if len(sl.rec) < 5 || be(sl.rec[0:5]) != sl.seq {
			continue // listed again since: its newer entry has a later place
		}
		e, err := decodeRecord(key, sl.digits, sl.rec, dict)
		if err != nil {
			return nil, 0, err
		}
		entries = append(entries, e)
	}
	next := cursor + WalkBlocks
	if next > seq/128 {
		next = -1
	}
	return entries, next, nil
}

func str(v any) string { s, _ := v.(string); return s }

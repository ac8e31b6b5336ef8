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
	if len(reply) < 3 {
		return nil, 0, fmt.Errorf("%w: list: %d values", ErrBadReply, len(reply))
	}
	total, ok1 := reply[0].(int64)
	epoch, ok2 := reply[1].(string)
	k, ok3 := reply[2].(int64)
	if !ok1 || !ok2 || !ok3 || k < 0 || int64(len(reply)) != 3+2*k {
		return nil, 0, fmt.Errorf("%w: list header %v", ErrBadReply, reply[:3])
	}
	recs := make([]string, 0, k)
	for i := int64(0); i < k; i++ {
		if rec, ok := reply[4+2*i].(string); ok {
			recs = append(recs, rec)
		}
	}
	dict, err := s.texts(ctx, org, epoch, recs...)
	if err != nil {
		return nil, 0, err
	}
	entries, err := decodePairs(org, reply[3:], dict)
	return entries, total, err
}

// Query is what Search looks for: entries whose number starts with one of Prefixes
// (E.164 digits without "+"), or whose type, batchId or requestUUID equals Text, in any
// case (ASCII letters). An empty Query matches nothing.
type Query struct {
	Prefixes []string
	Text     string
}

// Search limits.
const (
	// SearchChunks is how many chunks of the number index (192 to 384 numbers each) one
	// search script counts at most, each with an SCARD, or a quarter as many whose
	// members it reads: it bounds the time one script holds Redis (about a millisecond
	// here).
	SearchChunks = 256
	// MaxSearchGather is the most type and batchId matches a search reads one by one,
	// which it must when its text is digits that also begin numbers (to list an entry
	// that matches both ways once): about 10 µs each here, so that the script holds Redis
	// under 2 ms. A search that would read more fails with ErrSearchTooBroad.
	MaxSearchGather = 150
)

// ErrSearchTooBroad: a search would read more than MaxSearchGather matches one by one.
var ErrSearchTooBroad = errors.New("store: search too broad")

// Search returns the page (offset, limit as in List) of org's entries that match q, and
// how many match in all. Matches by number come first, in number order (shorter numbers
// first), then the other matches: of type or batchId newest first, then of
// requestUUID newest first; an entry that matches in several ways is listed once, in
// the first way. Every way is read from an index, so the cost does not grow with the
// list: a page of type or batchId matches, or of requestUUID matches, is one round
// trip; matches by number cost one script per SearchChunks chunks of 192 to 384
// numbers that the prefixes span (a prefix that matches half the list counts its
// chunks in several short scripts).
func (s *Store) Search(ctx context.Context, org string, q Query, offset, limit int) ([]Entry, int64, error) {
	if offset < 0 || limit < 0 || limit > MaxListLimit {
		return nil, 0, fmt.Errorf("store: search: offset %d, limit %d out of range", offset, limit)
	}
	prefixes := cleanPrefixes(q.Prefixes)
	text := asciiLower(q.Text)
	if len(prefixes) == 0 && text == "" {
		return []Entry{}, 0, nil
	}
	uuid := ""
	if b, _, ok := uuidBytes(text); ok {
		uuid = string(b[:])
	}
	entries := []Entry{}
	var total int64
	maybe := text != ""
	if len(prefixes) > 0 {
		// The first call also says whether the text may match anything: most searches
		// of digits are numbers alone, and take one round trip.
		args := []any{"", offset, limit, cmp.Or(s.searchChunks, SearchChunks), text, uuid}
		for _, r := range numberRanges(prefixes) {
			args = append(args, r.len, r.lo, r.hi)
		}
		for first := true; ; first = false {
			reply, err := s.runRO(ctx, searchNumberScript, org, args...).Slice()
			if err != nil {
				return nil, 0, scriptErr(err)
			}
			cursor, counted, pass, may, page, err := readNumberSearch(org, reply)
			if err != nil {
				return nil, 0, err
			}
			if first {
				maybe = maybe && may
			}
			total += counted
			entries = append(entries, page...)
			if cursor == "" {
				break
			}
			args[0], args[1], args[2] = cursor, pass, limit-len(entries)
		}
	}
	if maybe {
		args := []any{text, uuid, max(0, int64(offset)-total), limit - len(entries), MaxSearchGather}
		if total > 0 { // entries that match both ways are listed with the numbers
			for _, p := range prefixes {
				args = append(args, p)
			}
		}
		reply, err := s.runRO(ctx, searchTextScript, org, args...).Slice()
		if err != nil {
			return nil, 0, scriptErr(err)
		}
		if len(reply) < 2 {
			return nil, 0, fmt.Errorf("%w: search: %d values", ErrBadReply, len(reply))
		}
		n, ok := reply[0].(int64)
		if !ok {
			return nil, 0, fmt.Errorf("%w: search total %v", ErrBadReply, reply[0])
		}
		page, err := readPairs(org, reply[1:])
		if err != nil {
			return nil, 0, err
		}
		total += n
		entries = append(entries, page...)
	}
	return entries, total, nil
}

// cleanPrefixes drops the prefixes that cannot begin an E.164 number (empty, longer than
// 15 digits, not digits, or starting with 0), repeats, and those that another prefix
// begins (it matches them all already), and sorts the rest.
func cleanPrefixes(ps []string) []string {
	var ok []string
	for _, p := range ps {
		if _, valid := parseDigits(p); valid {
			ok = append(ok, p)
		}
	}
	slices.Sort(ok)
	out := ok[:0]
	for _, p := range ok {
		if len(out) == 0 || !strings.HasPrefix(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

type numberRange struct{ len, lo, hi string }

// numberRanges returns, in number order (by length, then value), the ranges of numbers
// that begin with one of prefixes: for each length from the prefix's to 15 digits, the
// prefix followed by zeros up to the prefix followed by nines.
func numberRanges(prefixes []string) []numberRange {
	var out []numberRange
	for n := 1; n <= 15; n++ {
		for _, p := range prefixes {
			if len(p) <= n {
				out = append(out, numberRange{strconv.Itoa(n), p + strings.Repeat("0", n-len(p)), p + strings.Repeat("9", n-len(p))})
			}
		}
	}
	return out
}

// asciiLower returns s with its ASCII letters in lower case, as the scripts' string.lower does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// readNumberSearch reads search_number.lua's reply.
func readNumberSearch(org string, reply []any) (cursor string, counted, pass int64, maybe bool, page []Entry, err error) {
	if len(reply) < 5 {
		return "", 0, 0, false, nil, fmt.Errorf("%w: search: %d values", ErrBadReply, len(reply))
	}
	cursor, ok1 := reply[0].(string)
	counted, ok2 := reply[1].(int64)
	pass, ok3 := reply[2].(int64)
	may, ok4 := reply[3].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return "", 0, 0, false, nil, fmt.Errorf("%w: search header %v", ErrBadReply, reply[:4])
	}
	page, err = readPairs(org, reply[4:])
	return cursor, counted, pass, may == 1, page, err
}

// readPairs reads {k, digits1, record1, ..., index, text, ...}: k entries and the
// dictionary texts their records name. An entry whose record is "" is gone: left out.
func readPairs(org string, reply []any) ([]Entry, error) {
	k, ok := reply[0].(int64)
	if !ok || k < 0 || int64(len(reply)) < 1+2*k {
		return nil, fmt.Errorf("%w: search: %v entries", ErrBadReply, reply[0])
	}
	dict, err := readDict(reply[1+2*k:])
	if err != nil {
		return nil, err
	}
	return decodePairs(org, reply[1:1+2*k], dict)
}

// decodePairs decodes the entries of vals (digits1, record1, digits2, record2, ...); a
// record "" is an entry gone since it was named (or left by foreign data): left out.
func decodePairs(org string, vals []any, dict map[uint64]string) ([]Entry, error) {
	entries, key := make([]Entry, 0, len(vals)/2), keyOf(org)
	for i := 0; i+1 < len(vals); i += 2 {
		d, ok1 := vals[i].(string)
		rec, ok2 := vals[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: entry %T %T", ErrBadReply, vals[i], vals[i+1])
		}
		if rec == "" {
			continue
		}
		e, err := decodeRecord(key, d, rec, dict)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
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

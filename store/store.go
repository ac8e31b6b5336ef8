// Package store keeps DNC state in Redis: the per-org toggle and the org's list of
// numbers with their entries. It receives numbers already in E.164 and org ids already
// validated; it knows nothing of parsing or policy.
//
// A check is one plain HMGET (the org's switch and the number's entry live in one hash).
// Every write that touches more than one key runs as one Lua script (embedded from
// lua/*.lua, run with go-redis' Script.Run: EVALSHA, falling back to EVAL), and every key
// of an org shares the hash tag {org}, so it works on a single node and on Redis Cluster
// alike. A Store is safe for concurrent use.
package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script {
	src, err := luaFS.ReadFile("lua/" + name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return redis.NewScript(string(src))
}

var (
	addScript      = script("add.lua")
	removeScript   = script("remove.lua")
	deleteIDScript = script("delete_id.lua")
	getIDScript    = script("get_id.lua")
	listScript     = script("list.lua")
)

// ChunkSize is how many numbers one script call or one HMGET carries at most.
// Larger calls are split, so that no single command blocks Redis for long.
const ChunkSize = 1000

// ErrBadReply is returned when Redis answers with a reply of a shape the store did not
// ask for (a foreign value under one of its keys, say).
var ErrBadReply = errors.New("store: unexpected reply from redis")

// Store is the Redis storage of DNC state.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store over rdb whose keys start with prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Keys returns the names of every key the store keeps for org, in the order of the
// key schema (entries, ids, added). For tests and operators.
func (s *Store) Keys(org string) []string { return orgKeys(s.prefix, org).all() }

// Entry is one listed number and what is known of it.
type Entry struct {
	ID          string    // opaque, stable for the life of the entry (24 hex digits)
	Number      string    // E.164
	Type        string    // classification, e.g. "customer_request"; may be empty
	BatchID     string    // the campaign or batch the opt-out came from; may be empty
	RequestUUID string    // the call or request that produced the opt-out; may be empty
	CreatedAt   time.Time // when it was listed, in ms precision, UTC
}

// record is how an entry is stored in the entries hash (the number is the field).
type record struct {
	ID          string `json:"id"`
	Type        string `json:"type,omitempty"`
	BatchID     string `json:"batchId,omitempty"`
	RequestUUID string `json:"requestUUID,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
}

func decodeEntry(number, data string) (Entry, error) {
	e := Entry{Number: number}
	if data == "" {
		return e, nil
	}
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return e, fmt.Errorf("%w: entry of %s: %v", ErrBadReply, number, err)
	}
	e.ID, e.Type, e.BatchID, e.RequestUUID = r.ID, r.Type, r.BatchID, r.RequestUUID
	e.CreatedAt = time.UnixMilli(r.CreatedAt).UTC()
	return e, nil
}

// NewID returns a fresh entry id: 12 random bytes as 24 lower-case hex digits.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID produces.
func ValidID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// State is the outcome of a check.
type State int8

const (
	Disabled  State = iota // DNC is switched off for the org
	NotListed              // enabled, and the number is not on the list
	Listed                 // enabled, and the number is on the list
)

// Check reports in one round trip (one HMGET) whether DNC is enabled for org
// (defaultEnabled when never set) and, if so, whether number is listed; for a listed
// number it also returns its entry (the number alone when its metadata cannot be
// decoded). On a reply it cannot read it answers Listed and an error wrapping
// ErrBadReply.
func (s *Store) Check(ctx context.Context, org, number string, defaultEnabled bool) (State, Entry, error) {
	vals, err := s.rdb.HMGet(ctx, entriesKey(s.prefix, org), number, toggleField).Result()
	if err != nil {
		return Listed, Entry{}, err
	}
	if len(vals) != 2 {
		return Listed, Entry{}, fmt.Errorf("%w: check: %d values", ErrBadReply, len(vals))
	}
	enabled, err := isEnabled(vals[1], defaultEnabled)
	if err != nil {
		return Listed, Entry{}, err
	}
	if !enabled {
		return Disabled, Entry{}, nil
	}
	switch v := vals[0].(type) {
	case nil:
		return NotListed, Entry{}, nil
	case string:
		// Listed whatever the metadata says: an entry that cannot be decoded still
		// lists its number, and comes back with the number alone.
		e, _ := decodeEntry(number, v)
		return Listed, e, nil
	default:
		return Listed, Entry{}, fmt.Errorf("%w: check: entry %T", ErrBadReply, v)
	}
}

// isEnabled reads the switch field: absent (nil) means def; "0" means off; any other
// value, on (a value the store did not write never switches DNC off).
func isEnabled(v any, def bool) (bool, error) {
	switch v := v.(type) {
	case nil:
		return def, nil
	case string:
		return v != "0", nil
	default:
		return true, fmt.Errorf("%w: switch %T", ErrBadReply, v)
	}
}

// CheckMany reports whether DNC is enabled for org and, when it is, which of numbers are
// listed (listed[i] for numbers[i]). It sends one pipeline (HGET of the switch and HMGET
// in chunks of ChunkSize), so one round trip to the node that holds the org.
func (s *Store) CheckMany(ctx context.Context, org string, numbers []string, defaultEnabled bool) (enabled bool, listed []bool, err error) {
	key := entriesKey(s.prefix, org)
	pipe := s.rdb.Pipeline()
	toggle := pipe.HGet(ctx, key, toggleField)
	chunks := make([]*redis.SliceCmd, 0, (len(numbers)+ChunkSize-1)/ChunkSize)
	for lo := 0; lo < len(numbers); lo += ChunkSize {
		chunks = append(chunks, pipe.HMGet(ctx, key, numbers[lo:min(lo+ChunkSize, len(numbers))]...))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return true, nil, err
	}
	if enabled, err = readToggle(toggle, defaultEnabled); err != nil {
		return true, nil, err
	}
	listed = make([]bool, 0, len(numbers))
	for _, c := range chunks {
		vals, err := c.Result()
		if err != nil {
			return true, nil, err
		}
		for _, v := range vals {
			listed = append(listed, v != nil)
		}
	}
	if len(listed) != len(numbers) {
		return true, nil, fmt.Errorf("%w: HMGET answered %d of %d", ErrBadReply, len(listed), len(numbers))
	}
	return enabled, listed, nil
}

// SetEnabled switches DNC on or off for org.
func (s *Store) SetEnabled(ctx context.Context, org string, enabled bool) error {
	v := "0"
	if enabled {
		v = "1"
	}
	return s.rdb.HSet(ctx, entriesKey(s.prefix, org), toggleField, v).Err()
}

// Enabled reports whether DNC is on for org, or def when org never set it.
func (s *Store) Enabled(ctx context.Context, org string, def bool) (bool, error) {
	return readToggle(s.rdb.HGet(ctx, entriesKey(s.prefix, org), toggleField), def)
}

// readToggle reads the switch from an HGET of it.
func readToggle(cmd *redis.StringCmd, def bool) (bool, error) {
	v, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return isEnabled(nil, def)
	}
	if err != nil {
		return true, err
	}
	return isEnabled(v, def)
}

// errNotE164 guards the entries hash: only "+..." fields are numbers.
var errNotE164 = errors.New("store: numbers must be E.164")

// Add lists the entries' numbers (E.164, distinct) with their metadata, under fresh ids
// and the given creation time, and reports which were added (false: already listed,
// left unchanged). It sets each entry's ID and CreatedAt to what it wrote. Each chunk of
// ChunkSize entries is written atomically; when Redis fails part-way, earlier chunks
// stay written (adding again is harmless).
func (s *Store) Add(ctx context.Context, org string, entries []Entry, now time.Time) ([]bool, error) {
	k := orgKeys(s.prefix, org)
	ms := now.UnixMilli()
	added := make([]bool, 0, len(entries))
	for lo := 0; lo < len(entries); lo += ChunkSize {
		chunk := entries[lo:min(lo+ChunkSize, len(entries))]
		args := make([]any, 0, 1+3*len(chunk))
		args = append(args, ms)
		for i := range chunk {
			e := &chunk[i]
			if !strings.HasPrefix(e.Number, "+") {
				return added, fmt.Errorf("%w: %q", errNotE164, e.Number)
			}
			e.ID, e.CreatedAt = NewID(), time.UnixMilli(ms).UTC()
			data, err := json.Marshal(record{ID: e.ID, Type: e.Type, BatchID: e.BatchID, RequestUUID: e.RequestUUID, CreatedAt: ms})
			if err != nil {
				return added, err
			}
			args = append(args, e.Number, e.ID, data)
		}
		reply, err := addScript.Run(ctx, s.rdb, k.all(), args...).Int64Slice()
		if err != nil {
			return added, err
		}
		if len(reply) != len(chunk) {
			return added, fmt.Errorf("%w: add answered %d of %d", ErrBadReply, len(reply), len(chunk))
		}
		for _, r := range reply {
			added = append(added, r == 1)
		}
	}
	return added, nil
}

// Remove unlists numbers (E.164) and drops their entries, and reports how many were
// listed. Each chunk of ChunkSize numbers is removed atomically.
func (s *Store) Remove(ctx context.Context, org string, numbers []string) (int, error) {
	k := orgKeys(s.prefix, org)
	removed := 0
	for lo := 0; lo < len(numbers); lo += ChunkSize {
		chunk := numbers[lo:min(lo+ChunkSize, len(numbers))]
		args := make([]any, len(chunk))
		for i, n := range chunk {
			if !strings.HasPrefix(n, "+") {
				return removed, fmt.Errorf("%w: %q", errNotE164, n)
			}
			args[i] = n
		}
		n, err := removeScript.Run(ctx, s.rdb, k.all(), args...).Int()
		if err != nil {
			return removed, err
		}
		removed += n
	}
	return removed, nil
}

// Get returns the entry of a listed number; ok is false when it is not listed.
func (s *Store) Get(ctx context.Context, org, number string) (e Entry, ok bool, err error) {
	data, err := s.rdb.HGet(ctx, orgKeys(s.prefix, org).entries, number).Result()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	e, err = decodeEntry(number, data)
	return e, err == nil, err
}

// GetByID returns the entry with the given id; ok is false when org has none.
func (s *Store) GetByID(ctx context.Context, org, id string) (e Entry, ok bool, err error) {
	k := orgKeys(s.prefix, org)
	reply, err := getIDScript.Run(ctx, s.rdb, []string{k.ids, k.entries}, id).StringSlice()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	if len(reply) != 2 {
		return Entry{}, false, fmt.Errorf("%w: get by id: %d values", ErrBadReply, len(reply))
	}
	e, err = decodeEntry(reply[0], reply[1])
	return e, err == nil, err
}

// DeleteByID unlists the number whose entry has the given id and returns it; ok is
// false when org has no entry with that id (nothing is changed then).
func (s *Store) DeleteByID(ctx context.Context, org, id string) (number string, ok bool, err error) {
	k := orgKeys(s.prefix, org)
	number, err = deleteIDScript.Run(ctx, s.rdb, k.all(), id).Text()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return number, true, nil
}

// Count returns how many numbers org has listed.
func (s *Store) Count(ctx context.Context, org string) (int64, error) {
	return s.rdb.ZCard(ctx, orgKeys(s.prefix, org).added).Result()
}

// Scan returns some of org's listed numbers from cursor on (0 starts), about count of
// them, and the cursor to pass next (0 when done). It is HSCAN of the number fields: a
// number listed for the whole scan is returned at least once; numbers added or removed
// meanwhile may or may not be. A page may be empty before the scan ends.
func (s *Store) Scan(ctx context.Context, org string, cursor uint64, count int64) ([]string, uint64, error) {
	kv, next, err := s.rdb.HScan(ctx, entriesKey(s.prefix, org), cursor, numberFields, count).Result()
	if err != nil {
		return nil, 0, err
	}
	numbers := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		numbers = append(numbers, kv[i])
	}
	return numbers, next, nil
}

// numberFields is the HSCAN pattern of the entries hash's number fields.
const numberFields = "+*"

// List returns the page of org's entries that starts at offset (0-based) and holds at
// most limit entries, newest first (ties by number, descending), and the total count.
// One round trip.
func (s *Store) List(ctx context.Context, org string, offset, limit int) ([]Entry, int64, error) {
	if offset < 0 || limit <= 0 {
		return nil, 0, fmt.Errorf("store: list: offset %d, limit %d out of range", offset, limit)
	}
	// Lua computes offset+limit-1 in floating point, which Redis refuses past 2^53; no
	// list is that long, so a larger offset is past the end anyway.
	offset, limit = min(offset, math.MaxInt32), min(limit, math.MaxInt32)
	k := orgKeys(s.prefix, org)
	reply, err := listScript.Run(ctx, s.rdb, []string{k.added, k.entries}, offset, limit).Slice()
	if err != nil {
		return nil, 0, err
	}
	if len(reply) == 0 || len(reply)%2 != 1 {
		return nil, 0, fmt.Errorf("%w: list: %d values", ErrBadReply, len(reply))
	}
	total, ok := reply[0].(int64)
	if !ok {
		return nil, 0, fmt.Errorf("%w: list total %T", ErrBadReply, reply[0])
	}
	entries := make([]Entry, 0, len(reply)/2)
	for i := 1; i < len(reply); i += 2 {
		number, ok1 := reply[i].(string)
		data, ok2 := reply[i+1].(string)
		if !ok1 || !ok2 {
			return nil, 0, fmt.Errorf("%w: list entry %T %T", ErrBadReply, reply[i], reply[i+1])
		}
		e, err := decodeEntry(number, data)
		if err != nil {
			return nil, 0, err
		}
		entries = append(entries, e)
	}
	return entries, total, nil
}

// Search returns the page (offset, limit as in List) of org's entries whose number,
// type or request UUID contains query, case-insensitively, newest first, and how many
// match in all. It reads the whole list with HSCAN, ChunkSize entries a round trip, and
// filters on the client, so Redis is never blocked by it; its cost grows with the size
// of the list.
func (s *Store) Search(ctx context.Context, org, query string, offset, limit int) ([]Entry, int64, error) {
	if offset < 0 || limit <= 0 {
		return nil, 0, fmt.Errorf("store: search: offset %d, limit %d out of range", offset, limit)
	}
	q := strings.ToLower(query)
	key := orgKeys(s.prefix, org).entries
	var matches []Entry
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, key, cursor, numberFields, ChunkSize).Result()
		if err != nil {
			return nil, 0, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			e, err := decodeEntry(kv[i], kv[i+1])
			if err != nil {
				return nil, 0, err
			}
			if strings.Contains(e.Number, q) || strings.Contains(strings.ToLower(e.Type), q) ||
				strings.Contains(strings.ToLower(e.RequestUUID), q) {
				matches = append(matches, e)
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	// HSCAN may return a field twice; keep one of each.
	seen := make(map[string]bool, len(matches))
	uniq := matches[:0]
	for _, e := range matches {
		if !seen[e.Number] {
			seen[e.Number] = true
			uniq = append(uniq, e)
		}
	}
	sortNewestFirst(uniq)
	total := int64(len(uniq))
	if offset >= len(uniq) {
		return []Entry{}, total, nil
	}
	return uniq[offset:min(offset+limit, len(uniq))], total, nil
}

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hashDigits is lib.lua's hash of a number's digits: exact integer arithmetic, every
// product below 2^53, so that Lua's doubles and Go agree (TestKeysStayInStep checks
// where every number lies).
func hashDigits(d string) uint64 { return hashValue(digitsValue(d)) }

// digitsValue is the value of d, at most 15 ASCII digits (digits() has checked them).
func digitsValue(d string) uint64 {
	var n uint64
	for i := 0; i < len(d); i++ {
		n = n*10 + uint64(d[i]-'0')
	}
	return n
}

// hashValue is hashDigits of the digits whose value is n.
func hashValue(n uint64) uint64 {
	const P, HA, HB = 2147483647, 386342957, 50331653
	hi, lo := n/100000000, n%100000000
	return (hi*HA%P + lo*HB%P) % P
}

// tableSize is the size of an org's linear hash table: level L, split pointer p.
type tableSize struct {
	L uint8
	p uint64
}

// bucket returns the bucket of hash h (lib.lua's bucketKey).
func (t tableSize) bucket(h uint64) uint64 {
	m := uint64(1) << t.L // h % m, by a mask: a division costs more than all the rest
	b := h & (m - 1)
	if b < t.p {
		b = h & (2*m - 1)
	}
	return b
}

// home reports whether the bucket of h in t, whose depth field reads depth, is where h
// lives now: a bucket of depth D holds exactly the hashes equal to it modulo 2^D, and
// one HMGET reads the bucket's depth together with the number, so the answer is exact.
func (t tableSize) home(h uint64, depth string) bool {
	D, ok := parseDepth(depth)
	return ok && t.homeAt(h, D)
}

// homeAt is home with the depth parsed.
func (t tableSize) homeAt(h uint64, D uint) bool { return homeOf(h, D, t.bucket(h)) }

// homeOf reports whether a bucket b of depth D holds the hash h.
func homeOf(h uint64, D uint, b uint64) bool { return h&(uint64(1)<<D-1) == b }

// parseDepth reads a bucket's depth field: 0 to 40.
func parseDepth(depth string) (uint, bool) {
	D, err := strconv.ParseUint(depth, 10, 8)
	return uint(D), err == nil && D <= 40
}

// readStamp splits a bucket's stamp ("<switch>[r<rules version>]:<epoch>") and says
// whether DNC is on: the switch is "0" (off), "-" (never set: def) or anything else (on:
// a value the store did not write never switches DNC off).
func readStamp(stamp string, def bool) (on bool, epoch string, ok bool) {
	sw, epoch, ok := strings.Cut(stamp, ":")
	if len(sw) > 1 {
		sw = sw[:1]
	}
	return !(sw == "0" || (sw == "-" && !def)), epoch, ok
}

// stampRules returns the rules version a bucket's stamp names: 0 when the org has never
// had rules; ok false when the version is not a number.
func stampRules(stamp string) (uint64, bool) {
	if len(stamp) < 2 || stamp[1] != 'r' {
		return 0, true
	}
	v, _, _ := strings.Cut(stamp[2:], ":")
	rv, err := strconv.ParseUint(v, 10, 64)
	return rv, err == nil && rv > 0
}

// bucketKey returns "<prefix>:{<org>}:b:<b>" in one allocation: a check builds it for
// every call.
func bucketKey(prefix, org string, b uint64) string {
	var arr [128]byte // on the stack: string(buf) below is the one allocation
	buf := append(arr[:0], prefix...)
	buf = append(buf, ":{"...)
	buf = append(buf, org...)
	buf = append(buf, "}:b:"...)
	buf = strconv.AppendUint(buf, b, 10)
	return string(buf)
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// caches are what a Store remembers between calls, all of it safe to lose or to find
// out of date: the size of each org's bucket table (a stale one costs a check one more
// round trip), orgs seen without data (for a second), and dictionary texts (keyed by the
// org's data epoch, so a reset org never reads another generation's texts). Each map is
// bounded: when full it is emptied.
type caches struct {
	mu    sync.RWMutex
	asks  map[string]asks     // whether a check of the org asks for the server's clock
	rules map[string]orgRules // the org's rules of the version its buckets last named
	sizes map[string]tableSize
	bare  map[string]time.Time
	dict  map[dictKey]string
}

type dictKey struct {
	org, epoch string
	idx        uint64
}

const cacheMax = 1 << 16

func newCaches() caches {
	return caches{asks: map[string]asks{}, rules: map[string]orgRules{}, sizes: map[string]tableSize{}, bare: map[string]time.Time{}, dict: map[dictKey]string{}}
}

// asks says what a check of an org sends with its bucket's HMGET: the server's clock,
// once a check met an entry of the org that expires (a check that finds it needed the
// clock asks again, once).
type asks struct{ clock bool }

// orgRules are an org's rules of one version, of its data of one epoch.
type orgRules struct {
	epoch string
	rv    uint64
	set   ruleSet
}

func (c *caches) rulesOf(org string) orgRules { return cached(c, c.rules, org) }

// setRules keeps r unless the cache holds later rules of the same epoch.
func (c *caches) setRules(org string, r orgRules) {
	keepCached(c, c.rules, org, r, func(old orgRules) bool { return old.epoch != r.epoch || old.rv < r.rv })
}

func (c *caches) asksOf(org string) asks { return cached(c, c.asks, org) }

func (c *caches) setAsks(org string, a asks) { keepCached(c, c.asks, org, a, nil) }

// cached reads org's value of one of c's maps, under c's lock.
func cached[V any](c *caches, m map[string]V, org string) V {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return m[org]
}

// keepCached sets org's value in one of c's maps, under c's lock, unless replace says the old
// value must stay; a map that has reached cacheMax entries is emptied first.
func keepCached[V any](c *caches, m map[string]V, org string, v V, replace func(old V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m) >= cacheMax {
		clear(m)
	}
	if old, ok := m[org]; ok && replace != nil && !replace(old) {
		return
	}
	m[org] = v
}

func (c *caches) size(org string) tableSize {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sizes[org]
}

func (c *caches) setSize(org string, t tableSize, empty bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sizes) >= cacheMax {
		clear(c.sizes)
	}
	c.sizes[org] = t
	if len(c.bare) >= cacheMax {
		clear(c.bare)
	}
	if empty {
		c.bare[org] = time.Now()
	} else {
		delete(c.bare, org)
	}
}

// emptyFor is how long an org seen without any data is taken to still have none when
// its first bucket is missing (it could only gain data of an older layout meanwhile).
const emptyFor = time.Second

func (c *caches) empty(org string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.bare[org]
	return ok && time.Since(t) < emptyFor
}

// texts returns the dictionary texts that the records name, from the cache or, for
// those it lacks, from Redis (one HMGET).
func (s *Store) texts(ctx context.Context, org, epoch string, recs ...string) (map[uint64]string, error) {
	var idx []uint64
	for _, rec := range recs {
		idx = append(idx, recordIndexes(rec)...)
	}
	if len(idx) == 0 {
		return nil, nil
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	out := make(map[uint64]string, len(idx))
	var missing []uint64
	s.c.mu.RLock()
	for _, i := range idx {
		if t, ok := s.c.dict[dictKey{org, epoch, i}]; ok {
			out[i] = t
		} else {
			missing = append(missing, i)
		}
	}
	s.c.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	fields := make([]string, len(missing))
	for j, i := range missing {
		fields[j] = "i" + strconv.FormatUint(i, 10)
	}
	k := orgKeys(s.prefix, org)
	vals, err := s.rdb.HMGet(ctx, k[2], fields...).Result()
	if err != nil {
		return nil, err
	}
	if len(vals) != len(missing) {
		return nil, fmt.Errorf("%w: dictionary: %d values", ErrBadReply, len(vals))
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if len(s.c.dict) >= cacheMax {
		clear(s.c.dict)
	}
	for j, v := range vals {
		if t, ok := v.(string); ok {
			out[missing[j]] = t
			s.c.dict[dictKey{org, epoch, missing[j]}] = t
		}
	}
	return out, nil
}

// recordIndexes returns the dictionary indexes a record names (none for a record too
// short to name any).
func recordIndexes(rec string) []uint64 {
	if len(rec) < recHead {
		return nil
	}
	var idx []uint64
	for _, i := range []uint64{be(rec[11:14]), be(rec[14:17])} {
		if i != 0 {
			idx = append(idx, i)
		}
	}
	if u := uuidPart(rec); len(u) == 4 && u[0] == 0x03 {
		idx = append(idx, be(u[1:]))
	}
	return idx
}

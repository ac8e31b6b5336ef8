package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The store's tests own the key schema: they alone spell key names and read Redis
// behind the store's back. Each runs on miniredis and on a real redis-server.

type backend struct {
	name string
	rdb  *redis.Client
	real bool
}

func backends(t *testing.T) []backend {
	t.Helper()
	mr := miniredis.RunT(t)
	mini := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = mini.Close() })
	return []backend{{"miniredis", mini, false}, {"redis", redistest.Start(t).Client(t), true}}
}

// forEachBackend runs fn on each backend; the tests that use it run in parallel (each
// has servers of its own).
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// sized returns n, or long when DNC_LONG is set (CI sets it): the longer runs of the
// tests that read every key, kept out of the go test ./... a newcomer runs first.
func sized(n, long int) int {
	if os.Getenv("DNC_LONG") != "" {
		return long
	}
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bucketOf is where the Go side (cache.go) puts a number: the test proves that the Lua
// scripts, computing in doubles, put every number there too.
func bucketOf(digits string, L, p int64) int64 {
	return int64(tableSize{L: uint8(L), p: uint64(p)}.bucket(hashDigits(digits)))
}

// model is what a test expects an org's list to hold.
type model struct {
	entries map[string]Entry // by number
	order   []string         // numbers, oldest first
}

func (m *model) add(e Entry) {
	m.entries[e.Number] = e
	m.order = append(m.order, e.Number)
}

func (m *model) remove(number string) {
	delete(m.entries, number)
	m.order = slices.DeleteFunc(m.order, func(n string) bool { return n == number })
}

// verify checks, through the store's API and behind its back, that org's keys hold
// exactly the model: every number in the bucket its hash names, with a record whose
// sequence number has a log slot naming it back, counts that agree, every page of the
// listing newest first, and every entry found by its number and by its id.
func verify(t *testing.T, rdb *redis.Client, s *Store, org string, m *model) {
	t.Helper()
	ctx := ctxT(t)
	base := Base(DefaultPrefix, org)
	meta, err := rdb.HGetAll(ctx, base+"meta").Result()
	if err != nil {
		t.Fatal(err)
	}
	L, _ := strconv.ParseInt(meta["L"], 10, 64)
	p, _ := strconv.ParseInt(meta["p"], 10, 64)
	if meta["n"] != strconv.Itoa(len(m.entries)) && !(meta["n"] == "" && len(m.entries) == 0) {
		t.Fatalf("meta n = %q; the model holds %d", meta["n"], len(m.entries))
	}
	keys, err := rdb.Keys(ctx, redisEscape(base)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	seqOf := map[string]uint64{}
	slots := map[uint64]string{}
	for _, k := range keys {
		kind := strings.TrimPrefix(k, base)
		switch {
		case kind == "meta" || kind == "f" || kind == "d" || kind == "audit" || kind == "rules":
		case strings.HasPrefix(kind, "g:"):
			g, _ := strconv.ParseUint(kind[2:], 10, 64)
			counts, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, c := range counts {
				v, _ := strconv.Atoi(c)
				sum += v
			}
			if total, err := rdb.HGet(ctx, base+"f", "t"+kind[2:]).Result(); err != nil || total != strconv.Itoa(sum) {
				t.Errorf("group %d's total is %q, %v; its blocks count %d", g, total, err, sum)
			}
			for off, c := range counts {
				o, _ := strconv.ParseUint(off, 10, 64)
				live, err := rdb.HLen(ctx, base+"l:"+strconv.FormatUint(g*128+o, 10)).Result()
				if err != nil || strconv.FormatInt(live, 10) != c || c == "0" {
					t.Errorf("group %d counts %s live entries in block %d, which holds %d (%v)", g, c, g*128+o, live, err)
				}
			}
		case strings.HasPrefix(kind, "b:"):
			idx, _ := strconv.ParseInt(kind[2:], 10, 64)
			fields, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if fields["~d"] == "" || !strings.HasSuffix(fields["~e"], ":"+meta["epoch"]) {
				t.Errorf("bucket %s: depth %q, stamp %q; the org's epoch is %q", k, fields["~d"], fields["~e"], meta["epoch"])
			}
			for d, rec := range fields {
				if strings.HasPrefix(d, "~") {
					continue
				}
				if got := bucketOf(d, L, p); got != idx {
					t.Errorf("%s lies in bucket %d; its hash names %d (L %d, p %d)", d, idx, got, L, p)
				}
				seq, ok := recordSeq(rec)
				if !ok {
					t.Fatalf("record of %s: %q", d, rec)
				}
				seqOf["+"+d] = seq
			}
		case strings.HasPrefix(kind, "l:"):
			blk, _ := strconv.ParseUint(kind[2:], 10, 64)
			fields, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for off, d := range fields {
				o, _ := strconv.ParseUint(off, 10, 64)
				slots[blk*128+o] = "+" + d
			}
		case strings.HasPrefix(kind, "x:") || strings.HasPrefix(kind, "xc:") || strings.HasPrefix(kind, "r:") || strings.HasPrefix(kind, "o:"):
			// the search indexes: verifyIndexes
		default:
			t.Errorf("key %s is not in the schema", k)
		}
	}
	verifyIndexes(t, rdb, org, m, keys, L, p)
	if len(seqOf) != len(m.entries) || len(slots) != len(m.entries) {
		t.Fatalf("%d numbers in buckets, %d log slots; the model holds %d", len(seqOf), len(slots), len(m.entries))
	}
	for n, seq := range seqOf {
		if slots[seq] != n {
			t.Fatalf("%s has sequence number %d, whose log slot names %q", n, seq, slots[seq])
		}
	}
	// Every page of the listing, newest first, in pages of 7 and of 1,000.
	want := slices.Clone(m.order)
	slices.Reverse(want)
	for _, size := range []int{7, MaxListLimit} {
		var got []string
		for off := 0; off < len(want)+size; off += size {
			page, total, err := s.List(ctx, org, off, size)
			if err != nil || total != int64(len(want)) {
				t.Fatalf("List(%d, %d) = %d entries, total %d, %v; want total %d", off, size, len(page), total, err, len(want))
			}
			for _, e := range page {
				got = append(got, e.Number)
				if e != m.entries[e.Number] {
					t.Fatalf("List entry %+v; want %+v", e, m.entries[e.Number])
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listing in pages of %d = %v; want %v", size, head(got), head(want))
		}
	}
	// The whole listing oldest first, as an export reads it.
	var walked []string
	for cur := int64(0); cur != -1; {
		part, next, err := s.Walk(ctx, org, cur)
		if err != nil {
			t.Fatalf("Walk(%d): %v", cur, err)
		}
		for _, e := range part {
			walked = append(walked, e.Number)
			if e != m.entries[e.Number] {
				t.Fatalf("Walk entry %+v; want %+v", e, m.entries[e.Number])
			}
		}
		cur = next
	}
	if !slices.Equal(walked, m.order) {
		t.Fatalf("Walk = %d entries %v...; want %d %v...", len(walked), head(walked), len(m.order), head(m.order))
	}
	for n, e := range m.entries {
		st, got, err := s.Check(ctx, org, n, true)
		if err != nil || (st != Listed && st != Disabled) || (st == Listed && got != e) {
			t.Fatalf("Check(%s) = %v, %+v, %v; want listed, %+v", n, st, got, err, e)
		}
		if byID, ok, err := s.GetByID(ctx, org, e.ID); err != nil || !ok || byID != e {
			t.Fatalf("GetByID(%s) = %+v, %v, %v; want %+v", e.ID, byID, ok, err, e)
		}
	}
	var scanned []string
	for cur := uint64(0); ; {
		nums, next, err := s.Scan(ctx, org, cur, 50)
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, nums...)
		if cur = next; cur == 0 {
			break
		}
	}
	slices.Sort(scanned)
	scanned = slices.Compact(scanned)
	if len(scanned) != len(m.entries) {
		t.Fatalf("Scan found %d numbers; want %d", len(scanned), len(m.entries))
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func redisEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`).Replace(s)
}

// TestKeysStayInStep: after a random mix of every kind of write (each one checked),
// the org's keys describe exactly the model's entries.
func TestKeysStayInStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "acme"
		m := &model{entries: map[string]Entry{}}
		rng := rand.New(rand.NewPCG(1, 2))
		pool := numgen.E164(3, 300)
		types := []string{"", "complaint", "customer_request"}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for step := range sized(700, 3000) {
			now = now.Add(time.Millisecond)
			switch rng.IntN(6) {
			case 0, 1, 2: // add a few, some listed already
				var es []Entry
				seen := map[string]bool{}
				for range 1 + rng.IntN(8) {
					n := pool[rng.IntN(len(pool))]
					if seen[n] {
						continue
					}
					seen[n] = true
					es = append(es, Entry{Number: n, Type: types[rng.IntN(3)], BatchID: fmt.Sprintf("b%d", rng.IntN(4)),
						RequestUUID: []string{"", "REQ-" + strconv.Itoa(step), "123e4567-e89b-12d3-a456-42661417400" + strconv.Itoa(step%10), strings.Repeat("x", 41+rng.IntN(9))}[rng.IntN(4)]})
				}
				added, err := s.Add(ctx, org, es, now)
				if err != nil {
					t.Fatalf("step %d: Add: %v", step, err)
				}
				for i, e := range es {
					_, listed := m.entries[e.Number]
					if added[i] == listed {
						t.Fatalf("step %d: Add(%s) = %v; listed before: %v", step, e.Number, added[i], listed)
					}
					if added[i] {
						m.add(e)
					} else if was := m.entries[e.Number]; e.ID != was.ID || e.Seq != was.Seq || e.Seq == 0 {
						t.Fatalf("step %d: Add(%s) of a listed number gave id %s, seq %d; the listed entry has %s, %d", step, e.Number, e.ID, e.Seq, was.ID, was.Seq)
					}
				}
			case 3:
				n := pool[rng.IntN(len(pool))]
				got, err := s.Remove(ctx, org, []string{n})
				if err != nil {
					t.Fatalf("step %d: Remove: %v", step, err)
				}
				if _, listed := m.entries[n]; (got == 1) != listed {
					t.Fatalf("step %d: Remove(%s) = %d; listed: %v", step, n, got, listed)
				}
				m.remove(n)
			case 4:
				if len(m.order) == 0 {
					continue
				}
				e := m.entries[m.order[rng.IntN(len(m.order))]]
				n, ok, err := s.DeleteByID(ctx, org, e.ID)
				if err != nil || !ok || n != e.Number {
					t.Fatalf("step %d: DeleteByID(%s) = %q, %v, %v; want %s", step, e.ID, n, ok, err, e.Number)
				}
				m.remove(e.Number)
				if _, ok, err := s.DeleteByID(ctx, org, e.ID); ok || err != nil {
					t.Fatalf("step %d: DeleteByID of a deleted id = %v, %v", step, ok, err)
				}
			case 5:
				if err := s.SetEnabled(ctx, org, rng.IntN(2) == 0); err != nil {
					t.Fatalf("step %d: SetEnabled: %v", step, err)
				}
			}
		}
		verify(t, b.rdb, s, org, m)
		verifySearches(t, m, func(q Query, off, lim int) ([]Entry, int64, error) { return s.Search(ctx, org, q, off, lim) })
	})
}

// TestGrowth: the bucket table grows (and splits) as the list grows, every bucket and
// log block stays a listpack on a real server, and removals keep every count in step.
func TestGrowth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "grow"
		m := &model{entries: map[string]Entry{}}
		size := sized(3000, 8000) // 188 buckets, 24 log blocks (500 and 63)
		if !b.real {
			size = sized(1000, 2000) // miniredis' Lua is slow
		}
		numbers := numgen.E164(5, size)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for lo := 0; lo < len(numbers); lo += 1300 {
			es := withMeta(numbers[lo:min(lo+1300, len(numbers))])
			if _, err := s.Add(ctx, org, es, now); err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				m.add(e)
			}
			now = now.Add(time.Second)
		}
		var gone []string
		for i := 0; i < len(numbers); i += 3 {
			gone = append(gone, numbers[i])
		}
		if n, err := s.Remove(ctx, org, gone); err != nil || n != len(gone) {
			t.Fatalf("Remove = %d, %v; want %d", n, err, len(gone))
		}
		for _, n := range gone {
			m.remove(n)
		}
		verify(t, b.rdb, s, org, m)
		if !b.real {
			return // miniredis has no object encodings
		}
		keys, err := b.rdb.Keys(ctx, "dnc:{grow}:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		buckets := 0
		for _, k := range keys {
			if strings.Contains(k, ":b:") || strings.Contains(k, ":l:") {
				buckets++
				if enc, err := b.rdb.ObjectEncoding(ctx, k).Result(); err != nil || enc != "listpack" {
					t.Errorf("%s is encoded %q, %v; want listpack", k, enc, err)
				}
			}
		}
		if buckets < size/60 {
			t.Errorf("%d buckets and blocks for %d numbers: the table did not grow", buckets, len(m.entries))
		}
	})
}

// TestSchemaVersion: data of another layout version (an older release's, or a newer
// one's) is refused with ErrSchema by every operation, and nothing is written.
func TestSchemaVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		for name, setup := range map[string]func(org string) error{
			"version 1 marker": func(org string) error { return b.rdb.HSet(ctx, Base("dnc", org)+"meta", "v", "1").Err() },
			"version 2 marker": func(org string) error { return b.rdb.HSet(ctx, Base("dnc", org)+"meta", "v", "2", "n", "5").Err() },
			"version 4 marker": func(org string) error { return b.rdb.HSet(ctx, Base("dnc", org)+"meta", "v", "4", "n", "5").Err() },
			"version 1 data, no marker": func(org string) error {
				return b.rdb.HSet(ctx, Base("dnc", org)+"entries", "+14155552671", `{"id":"x"}`, "enabled", "1").Err()
			},
		} {
			t.Run(name, func(t *testing.T) {
				org := strings.ReplaceAll(name, " ", "-")
				if err := setup(org); err != nil {
					t.Fatal(err)
				}
				before := redistest.Snapshot(t, b.rdb)
				ops := map[string]error{}
				_, _, ops["Check"] = s.Check(ctx, org, "+14155552671", true)
				_, _, ops["CheckMany"] = s.CheckMany(ctx, org, []string{"+14155552671"}, true)
				_, ops["Enabled"] = s.Enabled(ctx, org, true)
				ops["SetEnabled"] = s.SetEnabled(ctx, org, false)
				_, ops["Add"] = s.Add(ctx, org, []Entry{{Number: "+14155552672"}}, time.Now())
				_, ops["Remove"] = s.Remove(ctx, org, []string{"+14155552671"})
				_, _, ops["List"] = s.List(ctx, org, 0, 10)
				_, ops["Count"] = s.Count(ctx, org)
				_, _, ops["Scan"] = s.Scan(ctx, org, 0, 10)
				_, _, ops["Get"] = s.Get(ctx, org, "+14155552671")
				_, _, ops["Search"] = s.Search(ctx, org, Query{Text: "x"}, 0, 10)
				_, _, ops["Walk"] = s.Walk(ctx, org, 0)
				for op, err := range ops {
					if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "layout version") {
						t.Errorf("%s = %v; want ErrSchema naming the version", op, err)
					}
				}
				if after := redistest.Snapshot(t, b.rdb); after != before {
					t.Errorf("refused operations changed Redis:\n%s\n%s", before, after)
				}
			})
		}
	})
}

// TestForeignData: values the store did not write under its keys never answer "not
// listed" for a listed number, and never crash a script.
func TestForeignData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org, n = "foreign", "+14155552671"
		if _, err := s.Add(ctx, org, []Entry{{Number: n}, {Number: "+14155552672"}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		bkey := Base("dnc", org) + "b:0"
		// A record too short to read: still listed, and the error says so.
		if err := b.rdb.HSet(ctx, bkey, n[1:], "junk").Err(); err != nil {
			t.Fatal(err)
		}
		st, e, err := s.Check(ctx, org, n, true)
		if st != Listed || e.Number != n || !errors.Is(err, ErrBadReply) {
			t.Errorf("Check with a short record = %v, %+v, %v; want listed and ErrBadReply", st, e, err)
		}
		if _, _, err := s.List(ctx, org, 0, 10); !errors.Is(err, ErrBadReply) {
			t.Errorf("List over a short record = %v; want ErrBadReply", err)
		}
		// A record naming a dictionary index that does not exist.
		rec := put48(1)[1:] + put48(0) + "\x00\x00\x09" + "\x00\x00\x00"
		if err := b.rdb.HSet(ctx, bkey, n[1:], rec).Err(); err != nil {
			t.Fatal(err)
		}
		if st, _, err := s.Check(ctx, org, n, true); st != Listed || !errors.Is(err, ErrBadReply) {
			t.Errorf("Check with an unknown type index = %v, %v; want listed and ErrBadReply", st, err)
		}
		// A bucket of another type: the check fails, as Listed.
		if err := b.rdb.Del(ctx, bkey).Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.rdb.Set(ctx, bkey, "oops", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if st, _, err := s.Check(ctx, org, "+14155552673", true); st != Listed || err == nil {
			t.Errorf("Check with a foreign bucket = %v, %v; want listed and an error", st, err)
		}
		if _, ls, err := s.CheckMany(ctx, org, []string{"+14155552673"}, true); err == nil {
			t.Errorf("CheckMany with a foreign bucket = %v, nil; want an error", ls)
		}
		// A switch other than "0" is on.
		if err := b.rdb.HSet(ctx, Base("dnc", org)+"meta", "enabled", "false").Err(); err != nil {
			t.Fatal(err)
		}
		if on, err := s.Enabled(ctx, org, false); !on || err != nil {
			t.Errorf("Enabled with switch \"false\" = %v, %v; want on", on, err)
		}
	})
}

// TestIDs: ids are stable for the life of an entry, differ after a number is listed
// again, and never reach an entry of another org or a made-up one.
func TestIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		es := []Entry{{Number: "+14155552671"}}
		if _, err := s.Add(ctx, "a", es, time.Now()); err != nil {
			t.Fatal(err)
		}
		theirs := []Entry{{Number: "+14155552671"}}
		if _, err := s.Add(ctx, "b", theirs, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.GetByID(ctx, "a", theirs[0].ID); ok || err != nil {
			t.Errorf("GetByID(another org's id) = %v, %v; want not found", ok, err)
		}
		if _, ok, err := s.DeleteByID(ctx, "a", theirs[0].ID); ok || err != nil {
			t.Errorf("DeleteByID(another org's id) = %v, %v; want not found", ok, err)
		}
		for i := range 2000 {
			id := fmt.Sprintf("%024x", uint64(i)*0x9e3779b97f4a7c15)
			if _, ok, err := s.DeleteByID(ctx, "a", id); ok || err != nil {
				t.Fatalf("DeleteByID(made-up %s) = %v, %v", id, ok, err)
			}
		}
		old := es[0].ID
		if _, err := s.Remove(ctx, "a", []string{"+14155552671"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Add(ctx, "a", es, time.Now()); err != nil {
			t.Fatal(err)
		}
		if es[0].ID == old {
			t.Fatal("a number listed again kept its old id")
		}
		if _, ok, _ := s.GetByID(ctx, "a", old); ok {
			t.Error("a stale id found the new entry")
		}
		if _, ok, _ := s.DeleteByID(ctx, "a", old); ok {
			t.Error("a stale id deleted the new entry")
		}
		if _, ok, err := s.GetByID(ctx, "a", es[0].ID); !ok || err != nil {
			t.Errorf("GetByID(fresh id) = %v, %v", ok, err)
		}
	})
}

// TestListOffsets: far offsets, and the count alone.
func TestListOffsets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		if _, err := s.Add(ctx, "o", withMeta(numgen.E164(9, 300)), time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{300, 1 << 40, math.MaxInt32} {
			if page, total, err := s.List(ctx, "o", off, 10); len(page) != 0 || total != 300 || err != nil {
				t.Errorf("List(%d) = %d entries, %d, %v; want none of 300", off, len(page), total, err)
			}
		}
		if c, err := s.Count(ctx, "o"); c != 300 || err != nil {
			t.Errorf("Count = %d, %v", c, err)
		}
		if c, err := s.Count(ctx, "never"); c != 0 || err != nil {
			t.Errorf("Count of an org never written = %d, %v", c, err)
		}
	})
}

// TestCheckWhileTheTableGrows: a Store whose idea of an org's bucket table is out of
// date (another process grew it) still answers every check right, and a listed number
// is never answered "not listed" while the table splits under concurrent checks.
func TestCheckWhileTheTableGrows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		checker, writer := New(b.rdb, ""), New(b.rdb, "")
		const org = "grows"
		size := sized(5000, 8000)
		if !b.real {
			size = sized(1500, 2000)
		}
		numbers := numgen.E164(21, 2*size)
		listed, later := numbers[:200], numbers[size:]
		es := make([]Entry, len(listed))
		for i, n := range listed {
			es[i] = Entry{Number: n, Type: "complaint"}
		}
		if _, err := writer.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, n := range listed[:5] { // the checker learns the small table
			if st, _, err := checker.Check(ctx, org, n, true); st != Listed || err != nil {
				t.Fatalf("Check(%s) = %v, %v", n, st, err)
			}
		}
		done := make(chan error, 1)
		go func() {
			for lo := 0; lo < len(later); lo += 500 {
				chunk := make([]Entry, 0, 500)
				for _, n := range later[lo:min(lo+500, len(later))] {
					chunk = append(chunk, Entry{Number: n})
				}
				if _, err := writer.Add(ctx, org, chunk, time.Now()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for running := true; running; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				running = false
			default:
			}
			for _, n := range listed {
				st, e, err := checker.Check(ctx, org, n, true)
				if st != Listed || err != nil || e.Number != n || e.Type != "complaint" {
					t.Fatalf("Check(%s) while the table grows = %v, %+v, %v; want listed", n, st, e, err)
				}
			}
			// A walk (an export) meets every entry listed before it once, oldest first.
			var walked []string
			last := uint64(0)
			for cur := int64(0); cur != -1; {
				part, next, err := checker.Walk(ctx, org, cur)
				if err != nil {
					t.Fatalf("Walk while the table grows: %v", err)
				}
				for _, e := range part {
					if e.Seq <= last {
						t.Fatalf("Walk while the table grows: seq %d after %d", e.Seq, last)
					}
					last = e.Seq
					walked = append(walked, e.Number)
				}
				cur = next
			}
			if len(walked) < len(listed) || !slices.Equal(walked[:len(listed)], listed) {
				t.Fatalf("Walk while the table grows: %d entries, %v...; want the %d listed first", len(walked), head(walked), len(listed))
			}
			batch := append(slices.Clone(listed), numbers[200:400]...)
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
		if on, ls, err := New(b.rdb, "").CheckMany(ctx, org, later, true); err != nil || !on || slices.Contains(ls, false) {
			t.Fatalf("CheckMany from a new Store = %v, %v; want all listed", on, err)
		}
		for _, n := range numbers[200:size] {
			if st, _, err := checker.Check(ctx, org, n, true); st != NotListed || err != nil {
				t.Fatalf("Check(%s) never listed = %v, %v", n, st, err)
			}
		}
		for _, n := range later {
			if st, _, err := checker.Check(ctx, org, n, true); st != Listed || err != nil {
				t.Fatalf("Check(%s) = %v, %v; want listed", n, st, err)
			}
		}
	})
}

// TestToggleStampsEveryBucket: switching DNC off and on reaches every bucket of a grown
// table, and a switch started while another runs wins.
func TestToggleStampsEveryBucket(t *testing.T) {
	b := backends(t)[1]
	ctx, s := ctxT(t), New(b.rdb, "")
	const org = "toggle"
	numbers := numgen.E164(31, 12000) // 750 buckets: a switch takes two scripts
	es := make([]Entry, len(numbers))
	for i, n := range numbers {
		es[i].Number = n
	}
	if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{false, true, false} {
		if err := s.SetEnabled(ctx, org, on); err != nil {
			t.Fatal(err)
		}
		if got, ls, err := s.CheckMany(ctx, org, numbers[:5000], true); got != on || err != nil || (on && slices.Contains(ls, false)) {
			t.Fatalf("enabled %v: CheckMany = %v, %v", on, got, err)
		}
		for _, n := range numbers[:3000] {
			st, _, err := s.Check(ctx, org, n, true)
			if err != nil || (st == Disabled) == on {
				t.Fatalf("enabled %v: Check(%s) = %v, %v", on, n, st, err)
			}
		}
	}
	// Two switches at once: the later one's value is every bucket's.
	errs := make(chan error, 2)
	go func() { errs <- s.SetEnabled(ctx, org, true) }()
	go func() { errs <- s.SetEnabled(ctx, org, false) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	on, err := s.Enabled(ctx, org, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		if st, _, err := s.Check(ctx, org, n, true); err != nil || (st == Disabled) == on {
			t.Fatalf("after two concurrent switches (meta says %v): Check(%s) = %v, %v", on, n, st, err)
		}
	}
}

// withMeta returns entries for numbers with metadata as real lists carry it: a few
// types, a batch id per 5,000 numbers, a random UUID each.
func withMeta(numbers []string) []Entry {
	es := make([]Entry, len(numbers))
	r := rand.New(rand.NewPCG(7, 7))
	types := []string{"customer_request", "complaint", "internal", "litigator"}
	for i, n := range numbers {
		var u [16]byte
		for j := range u {
			u[j] = byte(r.Uint32())
		}
		es[i] = Entry{Number: n, Type: types[i%len(types)], BatchID: fmt.Sprintf("batch-%06d", i/5000),
			RequestUUID: formatUUID(u[:], false)}
	}
	return es
}

// TestToggleCutShort: a switch to on that stops part-way leaves the org reading as off
// (Enabled); the buckets already stamped skip their listed numbers and the others
// still read as off, as before the switch; the next switch completes it.
func TestToggleCutShort(t *testing.T) {
	b := backends(t)[1]
	ctx, s := ctxT(t), New(b.rdb, "")
	const org = "cut"
	numbers := numgen.E164(41, 12000) // 750 buckets
	es := make([]Entry, len(numbers))
	for i, n := range numbers {
		es[i].Number = n
	}
	if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnabled(ctx, org, false); err != nil {
		t.Fatal(err)
	}
	// One toggle script by hand: the first 500 buckets say on, the rest still off.
	reply, err := s.pipeline(ctx, toggleScript, false, org, [][]any{s.audit(ctx, "enable", []any{"1", newEpoch(), "", 0})})
	if err != nil {
		t.Fatal(err)
	}
	if next := reply[0].([]any)[1].(int64); next == 0 {
		t.Fatalf("the table has fewer than 500 buckets: %v", reply)
	}
	if on, err := s.Enabled(ctx, org, true); on || err != nil {
		t.Errorf("Enabled after a switch on cut short = %v, %v; want off", on, err)
	}
	on, off := 0, 0
	for _, n := range numbers {
		switch st, _, err := s.Check(ctx, org, n, true); {
		case err != nil:
			t.Fatal(err)
		case st == Listed:
			on++
		case st == Disabled:
			off++
		default:
			t.Fatalf("Check(%s) = %v", n, st)
		}
	}
	if on == 0 || off == 0 {
		t.Errorf("after the cut-short switch %d numbers read as listed, %d as off; want both", on, off)
	}
	if err := s.SetEnabled(ctx, org, true); err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		if st, _, err := s.Check(ctx, org, n, true); st != Listed || err != nil {
			t.Fatalf("Check(%s) after the switch completed = %v, %v", n, st, err)
		}
	}
}

// collidingNumbers returns n distinct E.164 numbers whose digits all hash alike, as
// someone who knows the hash could craft them.
func collidingNumbers(n int) []string {
	const P, HA, HB = 2147483647, 386342957, 50331653
	inv := func(a uint64) uint64 { // a^(P-2) mod P
		r, e := uint64(1), uint64(P-2)
		for ; e > 0; e >>= 1 {
			if e&1 == 1 {
				r = r * a % P
			}
			a = a * a % P
		}
		return r
	}
	target, binv := hashDigits("12125550000"), inv(HB)
	var out []string
	for hi := uint64(1000000); len(out) < n; hi++ {
		lo := (target + P - hi*HA%P) % P * binv % P
		if lo < 100000000 {
			out = append(out, "+"+strconv.FormatUint(hi*100000000+lo, 10))
		}
	}
	return out
}

// TestCraftedCollisions: thousands of numbers in one bucket (no split can spread them)
// are all listed, all found, and every split writes its new bucket before deleting
// from the old one, in bounded commands.
func TestCraftedCollisions(t *testing.T) {
	b := backends(t)[1]
	ctx, s := ctxT(t), New(b.rdb, "")
	const org = "crafted"
	numbers := collidingNumbers(5000)
	if h := hashDigits(numbers[4999][1:]); h != hashDigits(numbers[0][1:]) {
		t.Fatal("the crafted numbers do not collide")
	}
	es := make([]Entry, len(numbers))
	for i, n := range numbers {
		es[i].Number = n
	}
	if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
		t.Fatal(err)
	}
	on, ls, err := s.CheckMany(ctx, org, numbers, true)
	if err != nil || !on || slices.Contains(ls, false) {
		t.Fatalf("CheckMany of crafted numbers = %v, %v", on, err)
	}
	for _, n := range numbers[:200] {
		if st, _, err := New(b.rdb, "").Check(ctx, org, n, true); st != Listed || err != nil {
			t.Fatalf("Check(%s) = %v, %v", n, st, err)
		}
	}
	m := &model{entries: map[string]Entry{}}
	for _, e := range es {
		m.add(e)
	}
	verify(t, b.rdb, s, org, m)
}

// TestMissingKeys: a bucket or the meta hash gone (evicted, deleted) is an error for a
// check, never "not listed".
func TestMissingKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "missing"
		numbers := numgen.E164(51, 400)
		es := make([]Entry, len(numbers))
		for i, n := range numbers {
			es[i].Number = n
		}
		if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := b.rdb.Del(ctx, Base("dnc", org)+"b:3").Err(); err != nil {
			t.Fatal(err)
		}
		lost := 0
		for _, n := range numbers {
			st, _, err := New(b.rdb, "").Check(ctx, org, n, true)
			switch {
			case err == nil && st == Listed:
			case errors.Is(err, ErrBadReply) && st == Listed:
				lost++
			default:
				t.Fatalf("Check(%s) with a bucket deleted = %v, %v; want listed, or an error", n, st, err)
			}
		}
		if lost == 0 {
			t.Error("no number lay in the deleted bucket: the test proves nothing")
		}
		if _, _, err := s.CheckMany(ctx, org, numbers, true); !errors.Is(err, ErrBadReply) {
			t.Errorf("CheckMany with a bucket deleted = %v; want ErrBadReply", err)
		}
		if err := b.rdb.Del(ctx, Base("dnc", org)+"meta").Err(); err != nil {
			t.Fatal(err)
		}
		if st, _, err := New(b.rdb, "").Check(ctx, org, numbers[0], true); st != Listed || !errors.Is(err, ErrBadReply) {
			t.Errorf("Check with the meta hash deleted = %v, %v; want listed and ErrBadReply", st, err)
		}
		if _, err := s.Add(ctx, org, []Entry{{Number: "+14155552671"}}, time.Now()); !errors.Is(err, ErrBadReply) {
			t.Errorf("Add with the meta hash deleted = %v; want ErrBadReply, nothing written", err)
		}
	})
}

// TestRemoveTrustsOnlyItsSlot: a record whose sequence number names another number's
// log slot (foreign data) does not take that slot with it.
func TestRemoveTrustsOnlyItsSlot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "slots"
		es := []Entry{{Number: "+14155552671"}, {Number: "+14155552672", Type: "vip", RequestUUID: "req-b"}}
		if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		bkey := Base("dnc", org) + "b:0"
		recB, err := b.rdb.HGet(ctx, bkey, "14155552672").Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.rdb.HSet(ctx, bkey, "14155552671", recB).Err(); err != nil { // A now claims B's sequence number
			t.Fatal(err)
		}
		if n, err := s.Remove(ctx, org, []string{"+14155552671"}); n != 1 || err != nil {
			t.Fatalf("Remove = %d, %v", n, err)
		}
		page, _, err := s.List(ctx, org, 0, 10)
		if err != nil || len(page) != 1 || page[0].Number != "+14155552672" {
			t.Errorf("List after removing a number with a foreign record = %+v, %v; want +14155552672 still listed", page, err)
		}
		if c, err := s.Count(ctx, org); c < 0 || err != nil {
			t.Errorf("Count = %d, %v", c, err)
		}
		// B keeps its postings and fingerprint: the search still finds it.
		for _, q := range []string{"VIP", "REQ-B"} {
			if got, total, err := s.Search(ctx, org, Query{Text: q}, 0, 10); err != nil || total != 1 || len(got) != 1 || got[0].Number != "+14155552672" {
				t.Errorf("Search(%s) after removing a number with a foreign record = %+v, %d, %v; want +14155552672", q, got, total, err)
			}
		}
	})
}

// recordSeq returns the sequence number of a stored record.
func recordSeq(rec string) (uint64, bool) {
	if len(rec) < recHead {
		return 0, false
	}
	return be(rec[0:5]), true
}

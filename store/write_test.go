package store

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// tableOf reads the org's bucket table level and split pointer behind the store's back.
func tableOf(t *testing.T, rdb *redis.Client, org string) (L, p int64) {
	t.Helper()
	m, err := rdb.HMGet(ctxT(t), Base(DefaultPrefix, org)+"meta", "L", "p").Result()
	if err != nil {
		t.Fatal(err)
	}
	L, _ = strconv.ParseInt(fmt.Sprint(m[0]), 10, 64)
	p, _ = strconv.ParseInt(fmt.Sprint(m[1]), 10, 64)
	return L, p
}

func plainEntries(numbers []string) []Entry {
	es := make([]Entry, len(numbers))
	for i, n := range numbers {
		es[i].Number = n
	}
	return es
}

// TestAddAllOrNothing: a write script whose chunk meets a bucket key of another type, a
// count that is not a number, or a dictionary index that is not one fails with
// ErrBadReply and leaves Redis exactly as it was, whether the table is small (every
// bucket checked first, splits as the numbers go in) or large (numbers written first,
// undone on the failure, splits after), with and without metadata.
func TestAddAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		for _, tc := range []struct {
			name   string
			listed int // numbers listed before: the table's size
			meta   bool
			spoil  string // "bucket", "count" or "dict"
		}{
			{"small table, foreign bucket", 40, false, "bucket"},
			{"large table, foreign bucket", 700, false, "bucket"},
			{"large table, foreign bucket, metadata", 700, true, "bucket"},
			{"large table, foreign count", 700, false, "count"},
			{"large table, foreign dictionary index", 700, true, "dict"},
			{"small table, foreign number chunk", 40, false, "chunk"},
			{"large table, foreign number chunk", 700, true, "chunk"},
			{"large table, foreign requestUUID bucket", 700, true, "rbucket"},
			{"large table, foreign posting", 700, true, "posting"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				org := fmt.Sprintf("undo%d%v%s", tc.listed, tc.meta, tc.spoil)
				size := WriteChunk // the numbers of one script
				if tc.meta {
					size = WriteChunkMeta
				}
				numbers := numgen.E164(61, tc.listed+size)
				m := &model{entries: map[string]Entry{}}
				first := withMeta(numbers[:tc.listed])
				if _, err := s.Add(ctx, org, first, time.Now()); err != nil {
					t.Fatal(err)
				}
				for _, e := range first {
					m.add(e)
				}
				// The chunk: new numbers, some listed ones, and last a number whose
				// bucket (or count, or text) is spoiled.
				chunk := numbers[tc.listed:]
				chunk = append(chunk[:size-3], numbers[0], numbers[1])
				L, p := tableOf(t, b.rdb, org)
				base := Base(DefaultPrefix, org)
				victim, dictWas := "", ""
				switch tc.spoil {
				case "bucket":
					// a bucket that none of the earlier numbers of the chunk lies in
					// (on a small table any bucket: all are checked first)
					used := map[int64]bool{}
					for _, n := range chunk {
						used[bucketOf(n[1:], L, p)] = tc.listed > 100
					}
					for _, n := range numgen.E164(62, 5000) {
						if bk := bucketOf(n[1:], L, p); !used[bk] {
							victim = n
							key := base + "b:" + strconv.FormatInt(bk, 10)
							if err := b.rdb.Del(ctx, key).Err(); err != nil {
								t.Fatal(err)
							}
							if err := b.rdb.Set(ctx, key, "oops", 0).Err(); err != nil {
								t.Fatal(err)
							}
							break
						}
					}
				case "count":
					victim = numgen.E164(63, 1)[0]
					if err := b.rdb.HSet(ctx, base+"f", "4194304", "many").Err(); err != nil {
						t.Fatal(err)
					}
				case "dict":
					victim = numgen.E164(63, 1)[0]
					var err error
					if dictWas, err = b.rdb.HGet(ctx, base+"d", "scomplaint").Result(); err != nil {
						t.Fatal(err)
					}
					if err := b.rdb.HSet(ctx, base+"d", "scomplaint", "x").Err(); err != nil {
						t.Fatal(err)
					}
				}
				var spoiled string // an index key set to a string
				switch tc.spoil {
				case "chunk": // the first number of its length: chunk 0 of a new directory
					victim, spoiled = "+3912345", base+"o:7:0"
				case "rbucket": // the bucket of the last entry's requestUUID
					victim = numgen.E164(63, 1)[0]
					fp, _ := fingerprint(withMeta(append(slices.Clone(chunk), victim))[len(chunk)].RequestUUID)
					spoiled = base + "r:" + strconv.FormatUint(rbucketOf(fp, L, p), 10)
				case "posting": // where the chunk's complaints go
					victim = numgen.E164(63, 1)[0]
					i, err := b.rdb.HGet(ctx, base+"d", "scomplaint").Result()
					if err != nil {
						t.Fatal(err)
					}
					spoiled = base + "x:" + i + ":" + strconv.Itoa((tc.listed+1)/512)
				}
				if spoiled != "" {
					if err := b.rdb.Del(ctx, spoiled).Err(); err != nil {
						t.Fatal(err)
					}
					if err := b.rdb.Set(ctx, spoiled, "oops", 0).Err(); err != nil {
						t.Fatal(err)
					}
				}
				if victim == "" {
					t.Fatal("no bucket to spoil")
				}
				chunk = append(chunk, victim)
				es := plainEntries(chunk)
				if tc.meta {
					es = withMeta(chunk)
				}
				before := redistest.Snapshot(t, b.rdb)
				added, err := s.Add(ctx, org, es, time.Now())
				if !errors.Is(err, ErrBadReply) || len(added) != 0 {
					t.Fatalf("Add over a spoiled %s = %v, %v; want ErrBadReply and nothing added", tc.spoil, added, err)
				}
				if after := redistest.Snapshot(t, b.rdb); after != before {
					t.Fatalf("a failed Add changed Redis")
				}
				if tc.spoil == "bucket" || spoiled != "" {
					return // verify reads every bucket and index
				}
				// Mended, the same chunk goes in whole.
				switch tc.spoil {
				case "count":
					if err := b.rdb.HDel(ctx, base+"f", "4194304").Err(); err != nil {
						t.Fatal(err)
					}
					if err := b.rdb.HSet(ctx, base+"f", "4194304", m.size()).Err(); err != nil {
						t.Fatal(err)
					}
				case "dict":
					if err := b.rdb.HSet(ctx, base+"d", "scomplaint", dictWas).Err(); err != nil {
						t.Fatal(err)
					}
				}
				added, err = s.Add(ctx, org, es, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range es {
					_, listed := m.entries[e.Number]
					if added[i] == listed {
						t.Fatalf("Add(%s) = %v; listed before: %v", e.Number, added[i], listed)
					}
					if added[i] {
						m.add(e)
					}
				}
				verify(t, b.rdb, s, org, m)
			})
		}
	})
}

func (m *model) size() int { return len(m.entries) }

// TestAddDuplicatesAndTexts: a number named twice in one call is added once (the first
// time), whether its record's texts are in the dictionary or not; numbers already
// listed add no text to the dictionary; and a call whose chunks cross many splits of
// a large table keeps every invariant.
func TestAddDuplicatesAndTexts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "dups"
		m := &model{entries: map[string]Entry{}}
		numbers := numgen.E164(71, 1200)
		now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		add := func(es []Entry) []bool {
			t.Helper()
			added, err := s.Add(ctx, org, es, now)
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Millisecond)
			return added
		}
		// Twice in one chunk: plain, then with texts the dictionary lacks, then knows.
		for i, es := range [][]Entry{
			{{Number: numbers[0]}, {Number: numbers[1]}, {Number: numbers[0]}},
			{{Number: numbers[2], Type: "new-type", BatchID: "b-1"}, {Number: numbers[2], Type: "other", BatchID: "b-2"}, {Number: numbers[3], Type: "new-type"}},
			{{Number: numbers[4], Type: "new-type", BatchID: "b-1"}, {Number: numbers[4]}},
			{{Number: numbers[5]}, {Number: numbers[5], Type: "third", RequestUUID: "x" + string(make([]byte, 60))}},
		} {
			added := add(es)
			seen := map[string]bool{}
			for j, e := range es {
				if added[j] == seen[e.Number] {
					t.Fatalf("call %d: Add(%s) = %v; named before in the call: %v", i, e.Number, added[j], seen[e.Number])
				}
				if !seen[e.Number] {
					m.add(e)
				}
				seen[e.Number] = true
			}
		}
		// Listed numbers with texts never seen: nothing is written.
		before := redistest.Snapshot(t, b.rdb)
		added := add([]Entry{{Number: numbers[0], Type: "never"}, {Number: numbers[2], BatchID: "never-batch"}})
		if added[0] || added[1] {
			t.Fatalf("Add of listed numbers = %v", added)
		}
		if after := redistest.Snapshot(t, b.rdb); after != before {
			t.Fatal("adding listed numbers with new texts changed Redis")
		}
		// The rest in one call: from a table of a few buckets to about 75, every
		// chunk splitting, half the numbers plain and half with metadata.
		rest := withMeta(numbers[6:])
		for i := range rest {
			if i%2 == 0 {
				rest[i] = Entry{Number: rest[i].Number}
			}
		}
		add(rest)
		for _, e := range rest {
			m.add(e)
		}
		verify(t, b.rdb, s, org, m)
		// Removing with duplicates and unlisted numbers counts each listed number once.
		gone := []string{numbers[0], numbers[0], numbers[7], "+14155550000", numbers[7]}
		if n, err := s.Remove(ctx, org, gone); err != nil || n != 2 {
			t.Fatalf("Remove with duplicates = %d, %v; want 2", n, err)
		}
		m.remove(numbers[0])
		m.remove(numbers[7])
		verify(t, b.rdb, s, org, m)
	})
}

// TestRemoveAllOrNothing: a remove whose chunk meets a count that is not a number, or a
// search index key of another type (met after other index keys were written), fails
// with nothing written.
func TestRemoveAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		for _, spoil := range []string{"count", "number chunk", "requestUUID bucket"} {
			org := "rmundo-" + strings.ReplaceAll(spoil, " ", "-")
			base := Base(DefaultPrefix, org)
			numbers := numgen.E164(81, 300)
			es := withMeta(numbers)
			if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
				t.Fatal(err)
			}
			var err error
			switch last := es[159]; spoil {
			case "count":
				err = b.rdb.HSet(ctx, base+"g:0", "1", "lots").Err()
			case "number chunk": // the chunk of the last number removed: others go first
				dir := base + "o:" + strconv.Itoa(len(last.Number)-1)
				bases, _ := b.rdb.ZRevRangeByScore(ctx, dir, &redis.ZRangeBy{Max: last.Number[1:], Min: "-inf", Count: 1}).Result()
				if len(bases) != 1 {
					t.Fatalf("no chunk for %s: %v", last.Number, bases)
				}
				err = b.rdb.Del(ctx, dir+":"+bases[0]).Err()
				if err == nil {
					err = b.rdb.Set(ctx, dir+":"+bases[0], "oops", 0).Err()
				}
			case "requestUUID bucket":
				L, p := tableOf(t, b.rdb, org)
				fp, _ := fingerprint(last.RequestUUID)
				key := base + "r:" + strconv.FormatUint(rbucketOf(fp, L, p), 10)
				err = b.rdb.Del(ctx, key).Err()
				if err == nil {
					err = b.rdb.Set(ctx, key, "oops", 0).Err()
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			before := redistest.Snapshot(t, b.rdb)
			if _, err := s.Remove(ctx, org, numbers[100:160]); !errors.Is(err, ErrBadReply) {
				t.Fatalf("Remove over a foreign %s = %v; want ErrBadReply", spoil, err)
			}
			if after := redistest.Snapshot(t, b.rdb); after != before {
				t.Fatalf("a failed Remove over a foreign %s changed Redis", spoil)
			}
		}
	})
}

// TestItoa: the scripts' own spelling of whole numbers is tostring's.
func TestItoa(t *testing.T) {
	lib, err := luaFS.ReadFile("lua/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := luaFS.ReadFile("lua/lib_counts.lua")
	if err != nil {
		t.Fatal(err)
	}
	sc := redis.NewScript(string(lib) + "\n" + string(counts) + `
for _, x in ipairs({0, 1, 9, 10, 99, 100, 101, 999, 1000, 9999, 10000, 10001, 99999, 100000,
    1048576, 4194303, 4194304, 16777215, 68719476735, 99999999999999}) do
  if itoa(x) ~= string.format('%.0f', x) then return 'itoa(' .. string.format('%.0f', x) .. ') = ' .. itoa(x) end
end
for x = 0, 30000, 7 do
  if itoa(x) ~= tostring(x) then return 'itoa(' .. x .. ') = ' .. itoa(x) end
end
for g = 0, 300 do
  local path, i = fenPath(g), g + 1
  for _, f in ipairs(path) do
    if f ~= tostring(i) then return 'fenPath(' .. g .. ') has ' .. f .. ', want ' .. i end
    local b = 1
    while i % (2 * b) == 0 do b = 2 * b end
    i = i + b
  end
  if i <= MAXG then return 'fenPath(' .. g .. ') stops early' end
end
return 'ok'`)
	forEachBackend(t, func(t *testing.T, b backend) {
		k := orgKeys(DefaultPrefix, "itoa")
		got, err := sc.Run(ctxT(t), b.rdb, k[:]).Result()
		if err != nil || got != "ok" {
			t.Fatalf("%v, %v", got, err)
		}
	})
}

// TestPurgeKeepsIndexesInStep: entries with metadata, a third of them expired by the
// server's clock, are purged; every key of the layout then holds exactly the entries
// that stay (verify), the expired ones no longer count, and a second purge finds none.
func TestPurgeKeepsIndexesInStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "purge"
		numbers := numgen.E164(23, sized(1200, 6000))
		es := withMeta(numbers)
		past, future := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		for i := range es {
			switch i % 3 {
			case 0:
				es[i].ExpiresAt = past
			case 1:
				es[i].ExpiresAt = future
			}
		}
		if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		m := &model{entries: map[string]Entry{}}
		var expired []string
		for i, e := range es {
			m.add(e)
			if i%3 == 0 {
				expired = append(expired, e.Number)
			}
		}
		_, listed, err := s.CheckMany(ctx, org, numbers, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range listed {
			if l != (i%3 != 0) {
				t.Fatalf("CheckMany[%d] (expiry %v) = %v", i, es[i].ExpiresAt, l)
			}
		}
		if st, _, err := s.Check(ctx, org, numbers[0], true); st != NotListed || err != nil {
			t.Fatalf("Check of an expired entry = %v, %v; want NotListed", st, err)
		}
		n, err := s.Purge(ctx, org)
		if err != nil || n != len(expired) {
			t.Fatalf("Purge = %d, %v; want %d", n, err, len(expired))
		}
		for _, d := range expired {
			m.remove(d)
		}
		verify(t, b.rdb, s, org, m)
		if n, err := s.Purge(ctx, org); n != 0 || err != nil {
			t.Fatalf("second Purge = %d, %v", n, err)
		}
	})
}

// TestForeignAuditKey: when the org's audit key holds something other than a stream,
// every write fails before its first change: the change cannot land without its event.
func TestForeignAuditKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "foreign-audit"
		es := withMeta(numgen.E164(29, 40))
		es[5].ExpiresAt = time.Now().Add(-time.Hour) // for Purge to find
		if _, err := s.Add(ctx, org, es[:20], time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRule(ctx, org, "+1201"); err != nil {
			t.Fatal(err)
		}
		key := Base(DefaultPrefix, org) + "audit"
		if err := b.rdb.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.rdb.Set(ctx, key, "oops", 0).Err(); err != nil {
			t.Fatal(err)
		}
		before := redistest.Snapshot(t, b.rdb)
		writes := map[string]func() error{
			"Add":        func() error { _, err := s.Add(ctx, org, es[20:], time.Now()); return err },
			"Remove":     func() error { _, err := s.Remove(ctx, org, []string{es[0].Number}); return err },
			"DeleteByID": func() error { _, _, err := s.DeleteByID(ctx, org, es[1].ID); return err },
			"SetEnabled": func() error { return s.SetEnabled(ctx, org, false) },
			"AddRule":    func() error { _, err := s.AddRule(ctx, org, "+1415"); return err },
			"RemoveRule": func() error { _, err := s.RemoveRule(ctx, org, "+1201"); return err },
			"Purge":      func() error { _, err := s.Purge(ctx, org); return err },
		}
		for name, w := range writes {
			if err := w(); !errors.Is(err, ErrBadReply) {
				t.Errorf("%s over a foreign audit key = %v; want ErrBadReply", name, err)
			}
		}
		if redistest.Snapshot(t, b.rdb) != before {
			t.Error("a write over a foreign audit key changed Redis")
		}
	})
}

// TestRulesStamped: a change of an org's rules raises their version and writes it into
// every bucket's stamp; a check matches the number against the rules of the version
// its bucket names, which a Store reads once per version. A switch of the org in the
// middle of the walk leaves no bucket behind, and a Store that kept an older version's
// rules learns the new ones. On the real server only: the walk needs hundreds of
// buckets, which miniredis' Lua takes seconds to fill (and minutes under -race).
func TestRulesStamped(t *testing.T) {
	t.Parallel()
	b := backends(t)[1]
	ctx, s := ctxT(t), New(b.rdb, "")
	const org = "stamped"
	numbers := numgen.E164(43, 12000) // 750 buckets
	if _, err := s.Add(ctx, org, plainEntries(numbers), time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _, err := s.Check(ctx, org, "+12015550123", true); st != NotListed || err != nil {
		t.Fatalf("Check = %v, %v", st, err)
	}
	// The rule by hand, and one stamping script (250 buckets); then a switch off and
	// on, which rewrites every stamp; then the rest of the walk.
	if _, err := s.pipeline(ctx, ruleScript, false, org, [][]any{s.audit(ctx, "rule_add", []any{"1", MaxRules, newEpoch(), "1201"})}); err != nil {
		t.Fatal(err)
	}
	reply, err := s.pipeline(ctx, rulesStampScript, false, org, [][]any{{0, 1}})
	if err != nil || reply[0].(int64) == 0 {
		t.Fatalf("first stamping script = %v, %v; want a next bucket", reply, err)
	}
	if err := s.SetEnabled(ctx, org, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnabled(ctx, org, true); err != nil {
		t.Fatal(err)
	}
	for next := reply[0]; next != int64(0); next = reply[0] {
		if reply, err = s.pipeline(ctx, rulesStampScript, false, org, [][]any{{next, 1}}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := b.rdb.Keys(ctx, redisEscape(Base(DefaultPrefix, org))+"b:*").Result()
	if err != nil || len(keys) < 700 {
		t.Fatal(len(keys), err)
	}
	for _, k := range keys {
		if st, err := b.rdb.HGet(ctx, k, "~e").Result(); err != nil || !strings.HasPrefix(st, "1r1:") {
			t.Fatalf("bucket %s: stamp %q, %v; want rules version 1", k, st, err)
		}
	}
	if r, err := s.Lookup(ctx, org, "+12015550123", true); r.State != Ruled || r.Rule != "+1201" || err != nil {
		t.Fatalf("Lookup = %+v, %v; want Ruled by +1201", r, err)
	}
	// Removing the rule: version 2, and s, which keeps version 1, learns it.
	if n, err := s.RemoveRule(ctx, org, "+1201"); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if r, err := s.Lookup(ctx, org, "+12015550123", true); r.State != NotListed || err != nil {
		t.Fatalf("Lookup after RemoveRule = %+v, %v", r, err)
	}
	other := New(b.rdb, "")
	if n, err := other.AddRule(ctx, org, "+12015", "+1201", "+12015"); n != 2 || err != nil {
		t.Fatalf("AddRule of two rules = %d, %v", n, err)
	}
	if r, err := s.Lookup(ctx, org, "+12015550123", true); r.State != Ruled || r.Rule != "+12015" || err != nil {
		t.Fatalf("Lookup after another Store's AddRule = %+v, %v", r, err)
	}
	// A rule whose walk never ran (the caller's connection dropped after the rule's
	// script): s, which keeps the previous version, does not see it yet; a Store
	// that has read the new version reads the rules themselves wherever a stamp is
	// older; and adding the rule again, a retry, owes the walk and runs it.
	if _, err := s.pipeline(ctx, ruleScript, false, org, [][]any{s.audit(ctx, "rule_add", []any{"1", MaxRules, newEpoch(), "1415"})}); err != nil {
		t.Fatal(err)
	}
	fresh := New(b.rdb, "")
	r0, err := fresh.Lookup(ctx, org, numbers[0], true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"+14155550100", "+14155550101"} { // the second from the rules it keeps
		if r, err := fresh.Lookup(ctx, org, n, true); r.State != Ruled || err != nil {
			t.Fatalf("Lookup(%s) by a Store that read the new rules = %+v, %v", n, r, err)
		}
	}
	// A stamp rewritten without its version (as a process of an older release does):
	// a Store that has read the rules keeps applying them.
	bkey := bucketKey(DefaultPrefix, org, fresh.c.size(org).bucket(hashDigits("14155550102")))
	if err := b.rdb.HSet(ctx, bkey, "~e", "1:"+r0.Epoch).Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := fresh.Lookup(ctx, org, "+14155550102", true); r.State != Ruled || err != nil {
		t.Fatalf("Lookup under a stamp without its rules version = %+v, %v", r, err)
	}
	if r, _ := s.Lookup(ctx, org, "+14155550100", true); r.State != NotListed {
		t.Fatalf("Lookup by a Store of the previous version = %+v; the walk has not run", r)
	}
	if n, err := s.AddRule(ctx, org, "+1415"); n != 0 || err != nil {
		t.Fatalf("AddRule again = %d, %v; want 0, nil", n, err)
	}
	if r, err := s.Lookup(ctx, org, "+14155550100", true); r.State != Ruled || err != nil {
		t.Fatalf("Lookup after AddRule again = %+v, %v; want Ruled", r, err)
	}
}

// TestAuditTrim: the audit log keeps to its longest length and its retention, give or
// take a stream node (about 100 events): each append trims with "~".
func TestAuditTrim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		numbers := numgen.E164(47, 400)
		for _, c := range []struct {
			org    string
			age    time.Duration
			maxLen int64
		}{{"trim-length", 0, 150}, {"trim-age", time.Millisecond, 0}} {
			s := New(b.rdb, "")
			s.SetAudit(c.age, c.maxLen)
			for _, n := range numbers {
				if _, err := s.Add(ctx, c.org, plainEntries([]string{n}), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			key := Base(DefaultPrefix, c.org) + "audit"
			n, err := b.rdb.XLen(ctx, key).Result()
			if err != nil || n < 1 || n > 300 {
				t.Errorf("%s: %d events after 400 adds, %v; want the bound and at most a node more", c.org, n, err)
			}
			last, err := b.rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
			if err != nil || len(last) != 1 || last[0].Values["d"] != numbers[len(numbers)-1] {
				t.Errorf("%s: newest event %v, %v; want the last add's", c.org, last, err)
			}
		}
	})
}

// TestAddMixedChunks: a call whose entries with metadata come in runs between plain
// ones is written in scripts of WriteChunk plain entries and of WriteChunkMeta where one
// has metadata, and each entry still gets its own sequence number, id and metadata.
func TestAddMixedChunks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		numbers := numgen.E164(64, 3*WriteChunk+2*WriteChunkMeta+7)
		meta := withMeta(numbers)
		es := plainEntries(numbers)
		for _, run := range [][2]int{{WriteChunk + 3, WriteChunk + 3 + WriteChunkMeta/2}, {2*WriteChunk + 1, 2*WriteChunk + 2}, {len(es) - 2, len(es)}} {
			copy(es[run[0]:run[1]], meta[run[0]:run[1]])
		}
		added, err := s.Add(ctx, "mixed", es, time.Now())
		if err != nil || len(added) != len(es) {
			t.Fatalf("Add = %d flags, %v", len(added), err)
		}
		for i, e := range es {
			if !added[i] || e.Seq != uint64(i+1) {
				t.Fatalf("entry %d: added %v, seq %d", i, added[i], e.Seq)
			}
			got, ok, err := s.GetByID(ctx, "mixed", e.ID)
			if err != nil || !ok || got.Number != e.Number || got.Type != e.Type || got.BatchID != e.BatchID || got.RequestUUID != e.RequestUUID {
				t.Fatalf("entry %d by id %s = %+v, %v, %v; want %+v", i, e.ID, got, ok, err, e)
			}
		}
	})
}

package store

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/redis/go-redis/v9"
)

// fingerprint is the Lua fpOf, computed here from an entry's requestUUID: the test
// proves that the scripts file every requestUUID where this says.
func fingerprint(u string) (uint64, bool) {
	x := packUUID(u)
	if x == "" {
		return 0, false
	}
	switch x[0] {
	case 1, 2:
		x = x[1:]
	case 0:
		x = asciiLower(x[1:])
	default:
		return 0, false
	}
	var h uint64
	for i := 0; i < len(x); i++ {
		h = (h*256 + uint64(x[i])) % 67108859
	}
	return h, true
}

// rbucketOf is the Lua rbucket: the requestUUID table is a quarter of the numbers'.
func rbucketOf(fp uint64, L, p int64) uint64 {
	if L < 2 {
		return 0
	}
	return tableSize{L: uint8(L - 2), p: uint64(p / 4)}.bucket(fp)
}

// verifyIndexes checks the search indexes behind the store's back: postings and their
// counts, requestUUID fingerprints and number chunks hold exactly the model's entries;
// every chunk and posting set is an intset on a real server.
func verifyIndexes(t *testing.T, rdb *redis.Client, org string, m *model, keys []string, L, p int64) {
	t.Helper()
	ctx := ctxT(t)
	base := Base(DefaultPrefix, org)
	dict, err := rdb.HGetAll(ctx, base+"d").Result()
	if err != nil {
		t.Fatal(err)
	}
	real := rdb.Options().Addr != "" && !strings.Contains(t.Name(), "miniredis")
	// What the model says each index holds.
	wantPost := map[string]map[string]bool{} // posting key -> members
	wantCount := map[string]map[string]int{} // count key -> field -> count
	wantFP := map[string]map[string]bool{}
	wantNums := map[int]map[uint64]bool{}
	// a text's postings go under its folded index: the first of its case variants stored
	fold := func(text string) string {
		if f := strings.Fields(dict["l"+asciiLower(text)]); len(f) > 0 {
			return f[0]
		}
		return ""
	}
	for _, e := range m.entries {
		idxs := map[string]bool{}
		for _, text := range []string{e.Type, e.BatchID} {
			if text != "" {
				idxs[fold(text)] = true
			}
		}
		if u := packUUID(e.RequestUUID); u != "" && u[0] == 3 {
			idxs[fold(e.RequestUUID)] = true
		}
		for i := range idxs {
			if i == "" {
				t.Fatalf("entry %+v names a text the dictionary lacks", e)
			}
			pb := e.Seq / 512
			k := fmt.Sprintf("%sx:%s:%d", base, i, pb)
			if wantPost[k] == nil {
				wantPost[k] = map[string]bool{}
			}
			wantPost[k][strconv.FormatUint(e.Seq-pb*512, 10)] = true
			ck := base + "xc:" + i
			if wantCount[ck] == nil {
				wantCount[ck] = map[string]int{}
			}
			wantCount[ck]["t"]++
			wantCount[ck][fmt.Sprintf("s%d", pb/128)]++
			wantCount[ck][strconv.FormatUint(pb, 10)]++
		}
		if fp, ok := fingerprint(e.RequestUUID); ok {
			k := base + "r:" + strconv.FormatUint(rbucketOf(fp, L, p), 10)
			if wantFP[k] == nil {
				wantFP[k] = map[string]bool{}
			}
			wantFP[k][strconv.FormatUint(fp*100_000_000_000+e.Seq, 10)] = true
		}
		d := e.Number[1:]
		v, _ := parseDigits(d)
		if wantNums[len(d)] == nil {
			wantNums[len(d)] = map[uint64]bool{}
		}
		wantNums[len(d)][v] = true
	}
	// The dictionary's case-folded fields name every text's index.
	for f, i := range dict {
		if text, ok := strings.CutPrefix(f, "s"); ok {
			if !slices.Contains(strings.Fields(dict["l"+asciiLower(text)]), i) {
				t.Errorf("dictionary field l%s = %q does not name index %s of %q", asciiLower(text), dict["l"+asciiLower(text)], i, text)
			}
		}
	}
	// sameSet checks that the set at k holds exactly the model's members, as an intset on
	// the real server, and takes k out of the model.
	sameSet := func(what, k string, model map[string]map[string]bool) {
		got, err := rdb.SMembers(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(model[k]) {
			t.Errorf("%s %s holds %d members; the model %d", what, k, len(got), len(model[k]))
		}
		for _, g := range got {
			if !model[k][g] {
				t.Errorf("%s %s holds %s, which the model does not", what, k, g)
			}
		}
		delete(model, k)
		if real {
			if enc, _ := rdb.ObjectEncoding(ctx, k).Result(); enc != "intset" {
				t.Errorf("%s %s is encoded %s", what, k, enc)
			}
		}
	}
	gotNums := map[int]map[uint64]bool{}
	for _, k := range keys {
		kind := strings.TrimPrefix(k, base)
		switch {
		case strings.HasPrefix(kind, "x:"):
			sameSet("posting", k, wantPost)
		case strings.HasPrefix(kind, "xc:"):
			got, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			want := wantCount[k]
			if len(got) != len(want) {
				t.Errorf("counts %s = %v; want %v", k, got, want)
			}
			for f, c := range want {
				if got[f] != strconv.Itoa(c) {
					t.Errorf("counts %s field %s = %q; want %d", k, f, got[f], c)
				}
			}
			delete(wantCount, k)
		case strings.HasPrefix(kind, "r:"):
			sameSet("requestUUID bucket", k, wantFP)
		case strings.HasPrefix(kind, "o:") && strings.Count(kind, ":") == 1:
			n, _ := strconv.Atoi(kind[2:])
			bases, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(bases) == 0 || bases[0].Member != "0" {
				t.Errorf("directory %s lacks chunk 0: %v", k, bases)
			}
			for j, z := range bases {
				b, err := strconv.ParseUint(z.Member.(string), 10, 64)
				if err != nil || float64(b) != z.Score {
					t.Fatalf("directory %s: member %v score %v", k, z.Member, z.Score)
				}
				ck := k + ":" + z.Member.(string)
				ms, err := rdb.SMembers(ctx, ck).Result()
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) > 512 { // (an empty chunk may stay listed: removes look at sizes sampled)
					t.Errorf("chunk %s holds %d numbers", ck, len(ms))
				} else if real && len(ms) > 0 {
					if enc, _ := rdb.ObjectEncoding(ctx, ck).Result(); enc != "intset" {
						t.Errorf("chunk %s is encoded %s", ck, enc)
					}
				}
				for _, mem := range ms {
					off, err := strconv.ParseUint(mem, 10, 64)
					v := b + off
					if err != nil || (j+1 < len(bases) && float64(v) >= bases[j+1].Score) {
						t.Errorf("chunk %s holds %s: not below the next chunk", ck, mem)
					}
					if gotNums[n] == nil {
						gotNums[n] = map[uint64]bool{}
					}
					gotNums[n][v] = true
				}
			}
		case strings.HasPrefix(kind, "o:"):
			dir := k[:strings.LastIndex(k, ":")]
			if _, err := rdb.ZScore(ctx, dir, k[len(dir)+1:]).Result(); err != nil {
				t.Errorf("chunk %s is not in its directory: %v", k, err)
			}
		}
	}
	for k := range wantPost {
		t.Errorf("posting %s is missing", k)
	}
	for k := range wantCount {
		t.Errorf("counts %s are missing", k)
	}
	for k := range wantFP {
		t.Errorf("requestUUID bucket %s is missing", k)
	}
	for n, want := range wantNums {
		if len(gotNums[n]) != len(want) {
			t.Errorf("the chunks of length %d hold %d numbers; the model %d", n, len(gotNums[n]), len(want))
		}
		for v := range want {
			if !gotNums[n][v] {
				t.Errorf("the chunks of length %d lack %d", n, v)
			}
		}
	}
	for n := range gotNums {
		if wantNums[n] == nil {
			t.Errorf("the chunks of length %d hold numbers; the model none", n)
		}
	}
}

// modelSearch is what Search must return for q, all of it.
func modelSearch(m *model, q Query) []Entry {
	prefixes := cleanPrefixes(q.Prefixes)
	text := asciiLower(q.Text)
	var nums, texts, uuids []Entry
	for _, e := range m.entries {
		d := e.Number[1:]
		switch {
		case slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(d, p) }):
			nums = append(nums, e)
		case text == "":
		case asciiLower(e.Type) == text || asciiLower(e.BatchID) == text:
			texts = append(texts, e)
		case asciiLower(e.RequestUUID) == text:
			if u := packUUID(e.RequestUUID); u[0] == 3 {
				texts = append(texts, e)
			} else {
				uuids = append(uuids, e)
			}
		}
	}
	slices.SortFunc(nums, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(len(a.Number), len(b.Number)), cmp.Compare(a.Number, b.Number))
	})
	newest := func(a, b Entry) int { return cmp.Compare(b.Seq, a.Seq) }
	slices.SortFunc(texts, newest)
	slices.SortFunc(uuids, newest)
	return slices.Concat(nums, texts, uuids)
}

// verifySearches compares Search with the model on what the model's entries can be
// searched by, in pages (of 3 for a few matches) and in one page of all.
func verifySearches(t *testing.T, m *model, search func(Query, int, int) ([]Entry, int64, error)) {
	t.Helper()
	queries := []Query{{Text: "nothing"}, {Prefixes: []string{"9999"}}, {Prefixes: []string{"1", "12"}}}
	rng := rand.New(rand.NewPCG(uint64(len(m.entries)), 3))
	for i, n := range m.order {
		if i%max(1, len(m.order)/8) != 0 {
			continue
		}
		e := m.entries[n]
		d := n[1:]
		queries = append(queries,
			Query{Prefixes: []string{d}},
			Query{Prefixes: []string{d[:1+rng.IntN(len(d))]}},
			Query{Prefixes: []string{d[:min(len(d), 4)], d[:min(len(d), 6)]}},
			Query{Text: strings.ToUpper(e.Type)}, Query{Text: e.BatchID}, Query{Text: strings.ToUpper(e.RequestUUID)},
			Query{Text: e.RequestUUID, Prefixes: []string{d[:3]}})
	}
	for _, q := range queries {
		if q.Text == "" && len(q.Prefixes) == 0 {
			continue
		}
		want := modelSearch(m, q)
		if _, _, err := search(q, 0, 1); errors.Is(err, ErrSearchTooBroad) {
			// right only when numbers begin with the prefixes and more than
			// MaxSearchGather entries have the text as type, batchId or long requestUUID
			numbers, texts := 0, 0
			for _, e := range m.entries {
				if slices.ContainsFunc(cleanPrefixes(q.Prefixes), func(p string) bool { return strings.HasPrefix(e.Number[1:], p) }) {
					numbers++
				}
				if u := packUUID(e.RequestUUID); asciiLower(e.Type) == asciiLower(q.Text) || asciiLower(e.BatchID) == asciiLower(q.Text) ||
					(u != "" && u[0] == 3 && asciiLower(e.RequestUUID) == asciiLower(q.Text)) {
					texts++
				}
			}
			if numbers == 0 || texts <= MaxSearchGather {
				t.Fatalf("Search(%+v) = %v, with %d number matches and %d text matches", q, err, numbers, texts)
			}
			continue
		}
		var got []Entry
		size := max(3, len(want)/8) // pages of 3, or 9 or 10 pages
		for off := 0; off < len(want)+size; off += size {
			page, total, err := search(q, off, size)
			if err != nil || total != int64(len(want)) {
				t.Fatalf("Search(%+v, %d, %d) = %d entries, total %d, %v; want total %d", q, off, size, len(page), total, err, len(want))
			}
			got = append(got, page...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Search(%+v) in pages of %d = %v; want %v", q, size, headNumbers(got), headNumbers(want))
		}
		all, _, err := search(q, 0, MaxListLimit)
		if err != nil || !slices.Equal(all, want[:min(len(want), MaxListLimit)]) {
			t.Fatalf("Search(%+v) in one page = %v, %v; want %v", q, headNumbers(all), err, headNumbers(want))
		}
	}
}

func headNumbers(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Number
	}
	return head(out)
}

// TestSearchIndexes: a list whose numbers crowd a few prefixes (so that chunks split),
// with texts in several cases, is searched exactly as the model says, after adds and
// after removals.
func TestSearchIndexes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "search"
		m := &model{entries: map[string]Entry{}}
		size := sized(1500, 5000) // about 4 (13) chunks of the crowded exchange: they split
		if !b.real {
			size = sized(600, 1500)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		var numbers []string
		seen := map[string]bool{}
		for _, n := range numgen.E164(11, size) {
			if rng.IntN(2) == 0 { // half of them in one exchange
				n = fmt.Sprintf("+1212555%04d", rng.IntN(10000))
			}
			if !seen[n] {
				seen[n] = true
				numbers = append(numbers, n)
			}
		}
		types := []string{"complaint", "Complaint", "VIP", "", "customer_request"}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for lo := 0; lo < len(numbers); lo += 500 {
			var es []Entry
			for i, n := range numbers[lo:min(lo+500, len(numbers))] {
				var u [16]byte
				for j := range u {
					u[j] = byte(rng.Uint32())
				}
				uuid := []string{formatUUID(u[:], i%2 == 0), "REQ-" + strconv.Itoa(rng.IntN(50)), "", strings.Repeat("long-", 9) + strconv.Itoa(rng.IntN(3))}[rng.IntN(4)]
				e := Entry{Number: n, Type: types[rng.IntN(len(types))], BatchID: fmt.Sprintf("B%d", rng.IntN(7)), RequestUUID: uuid}
				if rng.IntN(3) == 0 { // an expiry (far off) sits between a record's head and its requestUUID
					e.ExpiresAt = time.Date(2031+rng.IntN(60), 1, 1, 0, 0, rng.IntN(86400), 0, time.UTC)
				}
				es = append(es, e)
			}
			if _, err := s.Add(ctx, org, es, now); err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				m.add(e)
			}
		}
		if n, err := b.rdb.ZCard(ctx, Base(DefaultPrefix, org)+"o:11").Result(); err != nil || (b.real && n < 2) {
			t.Fatalf("the 11-digit numbers are in %d chunks, %v: none split", n, err)
		}
		keys, _ := b.rdb.Keys(ctx, redisEscape(Base(DefaultPrefix, org))+"*").Result()
		meta, _ := b.rdb.HGetAll(ctx, Base(DefaultPrefix, org)+"meta").Result()
		L, _ := strconv.ParseInt(meta["L"], 10, 64)
		p, _ := strconv.ParseInt(meta["p"], 10, 64)
		verifyIndexes(t, b.rdb, org, m, keys, L, p)
		verifySearches(t, m, func(q Query, off, lim int) ([]Entry, int64, error) { return s.Search(ctx, org, q, off, lim) })
		// A number search in scripts of one chunk and of two: every range and chunk end
		// is a place where a script stops and the next goes on (on miniredis' slow Lua,
		// in CI only).
		for _, chunks := range []int{1, 2} {
			if !b.real && sized(0, 1) == 0 {
				break
			}
			sc := New(b.rdb, "")
			sc.searchChunks = chunks
			verifySearches(t, m, func(q Query, off, lim int) ([]Entry, int64, error) { return sc.Search(ctx, org, q, off, lim) })
		}
		var gone []string
		for i, n := range m.order {
			if i%3 != 0 {
				gone = append(gone, n)
			}
		}
		if _, err := s.Remove(ctx, org, gone); err != nil {
			t.Fatal(err)
		}
		for _, n := range gone {
			m.remove(n)
		}
		verify(t, b.rdb, s, org, m)
		verifySearches(t, m, func(q Query, off, lim int) ([]Entry, int64, error) { return s.Search(ctx, org, q, off, lim) })
	})
}

// TestSearchTooBroad: a type stored in several cases is one list, paged from its
// postings at any count; digits that begin listed numbers and also name a batch are read
// one by one, up to MaxSearchGather of them, and past that fail with ErrSearchTooBroad.
func TestSearchTooBroad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if !b.real {
			t.Skip("hundreds of entries: on the real server only")
		}
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "broad"
		numbers := numgen.E164(17, MaxSearchGather+2)
		es := make([]Entry, len(numbers))
		for i, n := range numbers {
			es[i] = Entry{Number: n, Type: []string{"VIP", "vip", "Vip"}[i%3], BatchID: "1"}
		}
		if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, total, err := s.Search(ctx, org, Query{Text: "vIP"}, len(es)-2, 10); err != nil || total != int64(len(es)) || len(got) != 2 || got[1].Number != numbers[0] {
			t.Fatalf("Search(three cases) = %d entries, total %d, %v; want the 2 oldest of %d", len(got), total, err, len(es))
		}
		// "1" begins listed numbers and names the batch of every entry
		_, _, err := s.Search(ctx, org, Query{Text: "1", Prefixes: []string{"1"}}, 0, 10)
		if !errors.Is(err, ErrSearchTooBroad) || !strings.Contains(err.Error(), fmt.Sprintf("%d entries", len(es))) {
			t.Fatalf("Search(digits of a batch of %d) = %v; want ErrSearchTooBroad naming the count", len(es), err)
		}
		if n, err := s.Remove(ctx, org, numbers[:3]); n != 3 || err != nil {
			t.Fatal(n, err)
		}
		m := &model{entries: map[string]Entry{}}
		for _, e := range es[3:] {
			m.add(e)
		}
		verifySearches(t, m, func(q Query, off, lim int) ([]Entry, int64, error) { return s.Search(ctx, org, q, off, lim) })
		q := Query{Text: "1", Prefixes: []string{"1"}}
		if got, total, err := s.Search(ctx, org, q, 0, 1000); err != nil || !slices.Equal(got, modelSearch(m, q)) || total != int64(len(es)-3) {
			t.Fatalf("Search(digits of a batch of %d) = %d entries, total %d, %v; want %d", len(es)-3, len(got), total, err, len(modelSearch(m, q)))
		}
	})
}

// TestSearchPostingsAcrossSuperblocks: the postings of a type count their blocks in
// superblocks of 65,536 sequence numbers; a page that starts in one superblock and ends
// in the one before, or starts at any offset, holds the entries the model says. It lists
// 70,000 numbers, so it runs in CI (DNC_LONG=1).
func TestSearchPostingsAcrossSuperblocks(t *testing.T) {
	if sized(0, 1) == 0 {
		t.Skip("70,000 entries: DNC_LONG=1 runs it")
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		if !b.real {
			t.Skip("on the real server only")
		}
		ctx, s := ctxT(t), New(b.rdb, "")
		const org = "super"
		numbers := numgen.E164(23, 70_000)
		es := make([]Entry, len(numbers))
		var odd []Entry // newest first
		for i, n := range numbers {
			es[i] = Entry{Number: n, Type: []string{"even", "odd"}[i%2]}
		}
		if _, err := s.Add(ctx, org, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		for i := len(es) - 1; i >= 0; i-- {
			if i%2 == 1 {
				odd = append(odd, es[i])
			}
		}
		// seq 65,536 starts superblock 1: about 2,232 of the newest odd entries lie above it.
		for _, off := range []int{0, 2225, 2232, 2240, 17_000, len(odd) - 5} {
			got, total, err := s.Search(ctx, org, Query{Text: "ODD"}, off, 10)
			if err != nil || total != int64(len(odd)) || !slices.Equal(got, odd[off:min(off+10, len(odd))]) {
				t.Fatalf("Search(odd, %d, 10) = %d entries, total %d, %v; want %v", off, len(got), total, err, headNumbers(odd[off:min(off+10, len(odd))]))
			}
		}
	})
}

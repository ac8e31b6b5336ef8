package dnc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/store"
	"github.com/redis/go-redis/v9"
)

// TestScale measures the storage at the size of real lists, on real redis-server
// processes, each figure next to the raw go-redis command in the same run, the two
// alternating, on distinct random numbers in mixed formats. It takes several minutes,
// so it runs only when asked:
//
//	DNC_SCALE=1 go test ./dnc -run TestScale -v -timeout 60m
//
// DNC_SCALE_N (default 1,000,000) sets the list size, DNC_SCALE_REPS (default 5) the
// repetitions of each interleaved measurement. It logs a table; it asserts only that
// the measured operations succeed (timings are never asserted).
func TestScale(t *testing.T) {
	reps, e164, mixed := scaleInputs(t)
	t.Run("Memory", func(t *testing.T) { scaleMemory(t, e164, mixed) })
	t.Run("Writes", func(t *testing.T) { scaleWrites(t, e164, mixed, reps) })
	t.Run("Reads", func(t *testing.T) { scaleReads(t, e164, mixed, reps) })
}

// scaleInputs skips t unless DNC_SCALE is set, and returns the repetitions of each
// interleaved measurement (DNC_SCALE_REPS, default 5) and the list's numbers
// (DNC_SCALE_N, default 1,000,000), in E.164 and in mixed formats.
func scaleInputs(t *testing.T) (reps int, e164, mixed []string) {
	if os.Getenv("DNC_SCALE") == "" {
		t.Skip("DNC_SCALE=1 runs the scale measurements (minutes)")
	}
	n, reps := envInt(t, "DNC_SCALE_N", 1_000_000), envInt(t, "DNC_SCALE_REPS", 5)
	e164 = numgen.E164(1, n)
	mixed = make([]string, n)
	for i, e := range e164 {
		mixed[i] = numgen.Format(e, i)
	}
	return reps, e164, mixed
}

// memoryPer returns what load adds to a new redis-server's used_memory, per number of
// size.
func memoryPer(t *testing.T, size int, load func(rdb *redis.Client)) float64 {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	before := usedMemory(t, rdb)
	load(rdb)
	used := usedMemory(t, rdb) - before
	srv.Stop()
	return float64(used) / float64(size)
}

// addAll lists es for org through st, 10,000 entries a call.
func addAll(t *testing.T, st *store.Store, org string, es []store.Entry) {
	t.Helper()
	for lo := 0; lo < len(es); lo += 10_000 {
		if _, err := st.Add(context.Background(), org, es[lo:min(lo+10_000, len(es))], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			m, _ := strconv.ParseInt(v, 10, 64)
			return m
		}
	}
	t.Fatal("INFO memory has no used_memory")
	return 0
}

// withMeta is what a real list carries: a few types, a batch id per 5,000 numbers, a
// random request UUID each.
func withMeta(e164 []string) []store.Entry {
	r := rand.New(rand.NewPCG(7, 7))
	types := []string{"customer_request", "complaint", "internal", "litigator"}
	es := make([]store.Entry, len(e164))
	for i, n := range e164 {
		es[i] = store.Entry{Number: n, Type: types[i%len(types)], BatchID: fmt.Sprintf("batch-%06d", i/5000),
			RequestUUID: fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)}
	}
	return es
}

func rawAdd(ctx context.Context, t *testing.T, rdb *redis.Client, key string, e164 []string, del bool) {
	t.Helper()
	for lo := 0; lo < len(e164); lo += 10_000 {
		pipe := rdb.Pipeline()
		for c := lo; c < min(lo+10_000, len(e164)); c += 1000 {
			if del {
				pipe.SRem(ctx, key, toAny(e164[c:min(c+1000, len(e164))])...)
			} else {
				pipe.SAdd(ctx, key, toAny(e164[c:min(c+1000, len(e164))])...)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func scaleMemory(t *testing.T, e164, mixed []string) {
	ctx := context.Background()
	for _, size := range []int{100_000, len(e164)} {
		if size > len(e164) {
			continue
		}
		measure := func(load func(rdb *redis.Client)) float64 { return memoryPer(t, size, load) }
		raw := measure(func(rdb *redis.Client) { rawAdd(ctx, t, rdb, "raw", e164[:size], false) })
		// The audit log is not the list's cost: its bytes are reported on their own (a
		// bulk write logs an event a script: 16 or 32 numbers).
		var auditBytes []int64
		dropAudit := func(rdb *redis.Client) {
			key := store.Base(store.DefaultPrefix, "acme") + "audit"
			n, err := rdb.MemoryUsage(ctx, key, 0).Result() // every node counted
			if err != nil {
				t.Fatal(err)
			}
			auditBytes = append(auditBytes, n)
			if err := rdb.Del(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
		}
		plain := measure(func(rdb *redis.Client) {
			enf := newEnforcer(t, rdb)
			for lo := 0; lo < size; lo += 10_000 {
				if _, err := enf.Add(ctx, "acme", mixed[lo:min(lo+10_000, size)]...); err != nil {
					t.Fatal(err)
				}
			}
			dropAudit(rdb)
		})
		meta := measure(func(rdb *redis.Client) {
			addAll(t, store.New(rdb, ""), "acme", withMeta(e164[:size]))
			dropAudit(rdb)
		})
		t.Logf("memory at %d numbers: raw SET %.1f B/number; Add %.1f B/number (%.2fx); with type, batchId, requestUUID %.1f B/number (%.2fx); the audit log besides (MEMORY USAGE) %.1f and %.1f B/number",
			size, raw, plain, plain/raw, meta, meta/raw, float64(auditBytes[0])/float64(size), float64(auditBytes[1])/float64(size))
	}
}

// watchSlowlog makes SLOWLOG keep every command over 1 ms, up to 100,000 of them, and
// empties it, for slowest to read.
func watchSlowlog(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, kv := range [][2]string{{"slowlog-log-slower-than", "1000"}, {"slowlog-max-len", "100000"}} {
		if err := rdb.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Do(ctx, "SLOWLOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
}

// slowest returns the longest command in SLOWLOG (threshold 1 ms) and how many took
// over 2 ms, logs the three longest, and resets SLOWLOG.
func slowest(t *testing.T, rdb *redis.Client) (time.Duration, int) {
	t.Helper()
	ctx := context.Background()
	logs, err := rdb.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var mx time.Duration
	over := 0
	for _, l := range logs {
		mx = max(mx, l.Duration)
		if l.Duration > 2*time.Millisecond {
			over++
		}
	}
	slices.SortFunc(logs, func(a, b redis.SlowLog) int { return int(b.Duration - a.Duration) })
	for _, l := range logs[:min(3, len(logs))] {
		name := ""
		if len(l.Args) > 0 {
			name = l.Args[0]
		}
		if len(l.Args) > 1 && len(l.Args[1]) > 8 {
			name += " " + l.Args[1][:8]
		}
		t.Logf("  slow: %v %s (%d args)", l.Duration, name, len(l.Args))
	}
	_ = rdb.Do(ctx, "SLOWLOG", "RESET").Err()
	return mx, over
}

func scaleWrites(t *testing.T, e164, mixed []string, reps int) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	watchSlowlog(t, rdb)
	enf := newEnforcer(t, rdb)
	n := float64(len(e164))
	for _, call := range []int{1000, 10_000} {
		var addR, remR []float64
		var worst time.Duration
		over := 0
		for rep := range reps {
			start := time.Now()
			rawAdd(ctx, t, rdb, "raw", e164, false)
			rawAddRate := n / time.Since(start).Seconds()
			start = time.Now()
			rawAdd(ctx, t, rdb, "raw", e164, true)
			rawRemRate := n / time.Since(start).Seconds()
			_, _ = slowest(t, rdb)

			org := fmt.Sprintf("w%d-%d", call, rep)
			_ = rdb.ConfigResetStat(ctx).Err()
			start = time.Now()
			for lo := 0; lo < len(mixed); lo += call {
				if _, err := enf.Add(ctx, org, mixed[lo:min(lo+call, len(mixed))]...); err != nil {
					t.Fatal(err)
				}
			}
			addRate := n / time.Since(start).Seconds()
			start = time.Now()
			for lo := 0; lo < len(mixed); lo += call {
				if _, err := enf.Remove(ctx, org, mixed[lo:min(lo+call, len(mixed))]...); err != nil {
					t.Fatal(err)
				}
			}
			remRate := n / time.Since(start).Seconds()
			mx, o := slowest(t, rdb)
			worst, over = max(worst, mx), over+o
			addR, remR = append(addR, addRate/rawAddRate), append(remR, remRate/rawRemRate)
			stats, _ := rdb.Info(ctx, "commandstats").Result()
			mean := ""
			for _, line := range strings.Split(stats, "\r\n") {
				if strings.HasPrefix(line, "cmdstat_evalsha:") {
					mean = line
				}
			}
			t.Logf("calls of %d, rep %d: Add %.0f/s vs raw SADD %.0f/s; Remove %.0f/s vs raw SREM %.0f/s; slowest command %v, %d over 2 ms; %s",
				call, rep, addRate, rawAddRate, remRate, rawRemRate, mx, o, mean)
		}
		t.Logf("calls of %d: Add %s raw SADD; Remove %s raw SREM; slowest command %v, %d over 2 ms",
			call, spread(addR), spread(remR), worst, over)
	}
}

// spread is "median× (min–max×)".
func spread(r []float64) string {
	s := slices.Clone(r)
	slices.Sort(s)
	return fmt.Sprintf("%.3fx (%.3f-%.3fx)", s[len(s)/2], s[0], s[len(s)-1])
}

func scaleReads(t *testing.T, e164, mixed []string, reps int) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	enf := newEnforcer(t, rdb)
	st := store.New(rdb, "")
	es := withMeta(e164)
	// Org "acme" lists every number, "small" the first 100,000, and "scrub" one in ten
	// (as a campaign meets a DNC list), as does the raw set; the raw sorted set holds
	// every number, in listing order.
	load := func(org string, es []store.Entry) { addAll(t, st, org, es) }
	var tenth []store.Entry
	for i := 0; i < len(es); i += 10 {
		tenth = append(tenth, es[i])
	}
	load("acme", es)
	load("small", es[:min(len(es), 100_000)])
	load("scrub", tenth)
	for lo := 0; lo < len(es); lo += 1000 {
		var zs []redis.Z
		for i, e := range es[lo:min(lo+1000, len(es))] {
			zs = append(zs, redis.Z{Score: float64(lo + i), Member: e.Number})
		}
		if err := rdb.ZAdd(ctx, "rawz", zs...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for lo := 0; lo < len(tenth); lo += 1000 {
		var ms []any
		for _, e := range tenth[lo:min(lo+1000, len(tenth))] {
			ms = append(ms, e.Number)
		}
		if err := rdb.SAdd(ctx, "raw", ms...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	total := len(es)
	listed := es

	// The check, on distinct numbers in mixed formats, against SISMEMBER of their E.164.
	const block = 5000
	var checkR []float64
	for rep, at := 0, 0; rep < reps; rep++ {
		start := time.Now()
		for i := range block {
			if err := rdb.SIsMember(ctx, "raw", e164[(at+i)%len(e164)]).Err(); err != nil {
				t.Fatal(err)
			}
		}
		raw := time.Since(start)
		start = time.Now()
		for i := range block {
			if _, err := enf.ShouldSkip(ctx, "scrub", mixed[(at+i)%len(mixed)]); err != nil {
				t.Fatal(err)
			}
		}
		checkR = append(checkR, float64(time.Since(start))/float64(raw))
		at += block
	}
	t.Logf("ShouldSkip on a list of %d (one in ten checked numbers listed), distinct numbers in mixed formats: %s a raw SISMEMBER (blocks of %d calls)", len(tenth), spread(checkR), block)

	// List page 1 and page 50,000 (limit 10) against ZREVRANGE of 10: on the list as
	// loaded, and again (at the end) after one removal, which sends a page through the
	// listing's counts instead of arithmetic.
	pages := func(org, what string) {
		for _, off := range []int{0, 499_990} {
			if off >= total {
				continue
			}
			var r []float64
			for range reps {
				start := time.Now()
				for range 2000 {
					if err := rdb.ZRevRange(ctx, "rawz", int64(off), int64(off+9)).Err(); err != nil {
						t.Fatal(err)
					}
				}
				raw := time.Since(start)
				start = time.Now()
				for range 2000 {
					if p, err := enf.List(ctx, org, dnc.ListOptions{Offset: off, Limit: 10}); err != nil || len(p.Entries) != 10 {
						t.Fatal(err)
					}
				}
				r = append(r, float64(time.Since(start))/float64(raw))
			}
			t.Logf("List offset %d limit 10 on %d entries%s: %s a raw ZREVRANGE of 10", off, total, what, spread(r))
		}
	}
	pages("acme", "")

	// Search: what people search by, each kind on 25 distinct inputs drawn from the
	// first 100,000 entries (so that both orgs list them), on 100,000 entries and on the
	// whole list, once each: the median and range over the inputs. Prefixes as broad as
	// a country code are few, and run 5 times each.
	rng := rand.New(rand.NewPCG(5, 5))
	type kind struct {
		name string
		opts []dnc.ListOptions
	}
	var kinds []kind
	add := func(name string, f func(e store.Entry) dnc.ListOptions) {
		k := kind{name: name}
		for range 25 {
			k.opts = append(k.opts, f(listed[rng.IntN(min(len(listed), 100_000))]))
		}
		kinds = append(kinds, k)
	}
	usOnly := func(f func(d string) string) func(e store.Entry) dnc.ListOptions {
		return func(e store.Entry) dnc.ListOptions {
			for !strings.HasPrefix(e.Number, "+1") { // a US number: the region is US
				e = listed[rng.IntN(min(len(listed), 100_000))]
			}
			return dnc.ListOptions{Limit: 10, Search: f(e.Number[2:])}
		}
	}
	add(`"+1" and area code, like +1212`, func(e store.Entry) dnc.ListOptions { return dnc.ListOptions{Limit: 10, Search: e.Number[:5]} })
	add(`area code and exchange, like 212555`, usOnly(func(d string) string { return d[:6] }))
	add(`formatted, like (415) 555-`, usOnly(func(d string) string { return "(" + d[:3] + ") " + d[3:6] + "-" }))
	add(`"+1" and area code at offset 500`, func(e store.Entry) dnc.ListOptions {
		return dnc.ListOptions{Limit: 10, Offset: 500, Search: e.Number[:5]}
	})
	add("batchId", func(e store.Entry) dnc.ListOptions {
		return dnc.ListOptions{Limit: 10, Search: strings.ToUpper(e.BatchID)}
	})
	add("type at a random offset", func(e store.Entry) dnc.ListOptions {
		return dnc.ListOptions{Limit: 10, Offset: rng.IntN(20_000), Search: strings.ToUpper(e.Type)}
	})
	add("requestUUID", func(e store.Entry) dnc.ListOptions { return dnc.ListOptions{Limit: 10, Search: e.RequestUUID} })
	add("a full number, mixed formats", func(e store.Entry) dnc.ListOptions {
		return dnc.ListOptions{Limit: 10, Search: numgen.Format(e.Number, rng.IntN(5))}
	})
	for _, org := range []string{"small", "acme"} {
		for _, k := range kinds {
			var took []float64
			found := 0
			for _, o := range k.opts {
				start := time.Now()
				p, err := enf.List(ctx, org, o)
				took = append(took, float64(time.Since(start).Microseconds())/1000)
				if err != nil {
					t.Fatalf("search %+v: %v", o, err)
				}
				if p.Total > 0 {
					found++
				}
			}
			slices.Sort(took)
			t.Logf("search by %s on org %s, %d distinct inputs (%d found): median %.2f ms (%.2f-%.2f)", k.name, org, len(took), found, took[len(took)/2], took[0], took[len(took)-1])
		}
		for _, q := range []string{"+44", "+1"} {
			var took []float64
			var total int64
			for range 5 {
				start := time.Now()
				p, err := enf.List(ctx, org, dnc.ListOptions{Limit: 10, Search: q})
				took = append(took, float64(time.Since(start).Microseconds())/1000)
				if err != nil {
					t.Fatal(err)
				}
				total = p.Total
			}
			slices.Sort(took)
			t.Logf("search %q on org %s (%d matches): median %.2f ms (%.2f-%.2f)", q, org, total, took[2], took[0], took[4])
		}
	}
	var searches []dnc.ListOptions // the kinds' inputs, interleaved
	for i := range 25 {
		for _, k := range kinds {
			searches = append(searches, k.opts[i])
		}
	}

	// A check's p99 while two clients run those searches (not the two broadest) on the
	// whole list in a loop, against its p99 alone.
	probe := func(d time.Duration) time.Duration {
		var lat []time.Duration
		for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
			start := time.Now()
			if _, err := enf.ShouldSkip(ctx, "small", mixed[i%len(mixed)]); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		return lat[len(lat)*99/100]
	}
	// busy returns the check's p99 while two clients run loop without pause.
	busy := func(loop func(stop chan struct{})) time.Duration {
		stop := make(chan struct{})
		done := make(chan struct{}, 2)
		for range 2 {
			go func() {
				defer func() { done <- struct{}{} }()
				loop(stop)
			}()
		}
		defer func() { close(stop); <-done; <-done }()
		return probe(2 * time.Second)
	}
	// The same with two clients reading raw ZREVRANGE pages of 10 at random offsets in
	// a loop: what two busy clients cost a check on this machine with the least work a
	// command can do.
	rawPages := func(stop chan struct{}) {
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
		for {
			select {
			case <-stop:
				return
			default:
			}
			off := int64(r.IntN(total - 10))
			_ = rdb.ZRevRange(ctx, "rawz", off, off+9).Err()
		}
	}
	var p99R, rawR []float64
	for range reps {
		alone := probe(2 * time.Second)
		raw := busy(rawPages)
		_ = rdb.Do(ctx, "SLOWLOG", "RESET").Err()
		_ = rdb.ConfigSet(ctx, "slowlog-log-slower-than", "500").Err()
		_ = rdb.ConfigResetStat(ctx).Err()
		searching := busy(func(stop chan struct{}) {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, o := range searches {
					_, _ = enf.List(ctx, "acme", o)
				}
			}
		})
		if logs, err := rdb.SlowLogGet(ctx, -1).Result(); err == nil {
			var mx time.Duration
			for _, l := range logs {
				mx = max(mx, l.Duration)
			}
			stats, _ := rdb.Info(ctx, "commandstats").Result()
			for _, line := range strings.Split(stats, "\r\n") {
				if strings.HasPrefix(line, "cmdstat_evalsha") {
					t.Logf("  while searching: %d commands over 0.5 ms, the longest %v; %s", len(logs), mx, line)
				}
			}
		}
		p99R = append(p99R, float64(searching)/float64(alone))
		rawR = append(rawR, float64(raw)/float64(alone))
		t.Logf("check p99 alone %v, with two clients searching %d entries in a loop %v, with two clients reading raw ZREVRANGE pages in a loop %v", alone, total, searching, raw)
	}
	t.Logf("check p99 with two clients reading raw ZREVRANGE pages: %s the p99 alone", spread(rawR))
	t.Logf("check p99 with two clients searching: %s the p99 alone", spread(p99R))

	if n, err := enf.Remove(ctx, "acme", listed[len(listed)/2].Number); err != nil || n != 1 {
		t.Fatalf("Remove = %d, %v", n, err)
	}
	total--
	pages("acme", ", after a removal")
}

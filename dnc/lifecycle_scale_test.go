package dnc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/store"
	"github.com/redis/go-redis/v9"
)

// TestScaleLifecycle measures what expiry, rules and the audit log cost, on real
// redis-server processes, next to the raw go-redis command in the same run:
//
//	DNC_SCALE=1 go test ./dnc -run TestScaleLifecycle -v -timeout 60m
//
// DNC_SCALE_N (default 1,000,000) sets the list size for memory and purge,
// DNC_SCALE_REPS (default 5) the repetitions of the interleaved check. It logs; it
// asserts only that the operations succeed.
func TestScaleLifecycle(t *testing.T) {
	reps, e164, mixed := scaleInputs(t)
	t.Run("Memory", func(t *testing.T) { lifecycleMemory(t, e164) })
	t.Run("Audit", func(t *testing.T) { auditMemory(t, e164[:min(len(e164), 100_000)]) })
	t.Run("CheckWithRules", func(t *testing.T) { checkWithRules(t, e164, mixed, reps) })
	t.Run("Purge", func(t *testing.T) { purgeCost(t, e164) })
	t.Run("RuleChange", func(t *testing.T) { ruleChangeCost(t, e164) })
}

// ruleChangeCost: AddRule on a list of len(e164) numbers writes the rules' version into
// every bucket's stamp; its time, and the longest command it ran (SLOWLOG, threshold
// 1 ms).
func ruleChangeCost(t *testing.T, e164 []string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	enf := newEnforcer(t, rdb)
	st := store.New(rdb, "")
	es := make([]store.Entry, len(e164))
	for i, n := range e164 {
		es[i].Number = n
	}
	addAll(t, st, "acme", es)
	watchSlowlog(t, rdb)
	var took []float64
	for i := range 5 {
		start := time.Now()
		if err := enf.AddRule(ctx, "acme", fmt.Sprintf("+1%03d", 900+i)); err != nil {
			t.Fatal(err)
		}
		took = append(took, float64(time.Since(start).Microseconds())/1000)
	}
	mx, over := slowest(t, rdb)
	t.Logf("AddRule on a list of %d (every bucket's stamp rewritten): %s ms (5 rules); longest command %v, %d over 2 ms",
		len(e164), spreadMs(took), mx, over)
}

// spreadMs is "median (min–max)" of values in ms.
func spreadMs(v []float64) string {
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%.1f (%.1f-%.1f)", s[len(s)/2], s[0], s[len(s)-1])
}

// lifecycleMemory: used_memory per number with type, batchId and requestUUID, with and
// without an expiry, against a plain SET of the same numbers.
func lifecycleMemory(t *testing.T, e164 []string) {
	ctx := context.Background()
	sizes := []int{min(100_000, len(e164))}
	if len(e164) > 100_000 {
		sizes = append(sizes, len(e164))
	}
	for _, size := range sizes {
		measure := func(load func(rdb *redis.Client)) float64 { return memoryPer(t, size, load) }
		loadMeta := func(expiry bool) func(rdb *redis.Client) {
			return func(rdb *redis.Client) {
				st, es := store.New(rdb, ""), withMeta(e164[:size])
				if expiry {
					base := time.Now().AddDate(6, 0, 0)
					for i := range es {
						es[i].ExpiresAt = base.Add(time.Duration(i) * time.Second)
					}
				}
				addAll(t, st, "acme", es)
				// the audit log is not the list's cost: it is measured on its own (Audit)
				if err := rdb.Del(ctx, store.Base(store.DefaultPrefix, "acme")+"audit").Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		raw := measure(func(rdb *redis.Client) { rawAdd(ctx, t, rdb, "raw", e164[:size], false) })
		meta := measure(loadMeta(false))
		exp := measure(loadMeta(true))
		t.Logf("memory at %d numbers: raw SET %.1f B/number; with type, batchId, requestUUID %.1f B (%.2fx); and an expiry %.1f B (%.2fx)",
			size, raw, meta, meta/raw, exp, exp/raw)
	}
}

// auditMemory: the audit log's bytes per single-number event (AddEntry of one number
// with an actor), from MEMORY USAGE of the stream and from used_memory.
func auditMemory(t *testing.T, e164 []string) {
	ctx := dnc.WithActor(context.Background(), "alice@acme.example")
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	enf := newEnforcer(t, rdb)
	key := store.Base(store.DefaultPrefix, "acme") + "audit"
	for _, e := range e164 {
		if _, err := enf.AddEntry(ctx, "acme", e, dnc.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	events, err := rdb.XLen(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	usage, err := rdb.MemoryUsage(ctx, key, 0).Result()
	if err != nil {
		t.Fatal(err)
	}
	before := usedMemory(t, rdb)
	if err := rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	freed := before - usedMemory(t, rdb)
	t.Logf("audit log after %d single-number adds (actor %q): %d events, MEMORY USAGE %.1f B/event, used_memory freed by deleting it %.1f B/event",
		len(e164), "alice@acme.example", events, float64(usage)/float64(events), float64(freed)/float64(events))
}

// checkWithRules: ShouldSkip on distinct mixed-format numbers for an org of 100,000
// listed numbers with 1,000 rules, and for the same list without rules, against a raw
// SISMEMBER, the three alternating in blocks.
func checkWithRules(t *testing.T, e164, mixed []string, reps int) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	enf := newEnforcer(t, rdb)
	st := store.New(rdb, "")
	listed := withMeta(e164[:min(len(e164), 100_000)])
	addAll(t, st, "plain", listed)
	addAll(t, st, "ruled", listed)
	rules := make([]string, 1000) // area codes and exchanges that the checked numbers rarely begin with
	for i := range rules {
		rules[i] = fmt.Sprintf("+1%03d%03d", 900+i%100, 100+i/100)
	}
	if err := enf.AddRules(ctx, "ruled", rules); err != nil {
		t.Fatal(err)
	}
	rawAdd(ctx, t, rdb, "raw", e164[:len(listed)], false)
	const block = 5000
	var plainR, ruledR []float64
	for rep, at := 0, 0; rep < reps; rep++ {
		timeit := func(f func(i int) error) time.Duration {
			start := time.Now()
			for i := range block {
				if err := f((at + i) % len(e164)); err != nil {
					t.Fatal(err)
				}
			}
			return time.Since(start)
		}
		raw := timeit(func(i int) error { return rdb.SIsMember(ctx, "raw", e164[i]).Err() })
		plain := timeit(func(i int) error { _, err := enf.ShouldSkip(ctx, "plain", mixed[i]); return err })
		ruled := timeit(func(i int) error { _, err := enf.ShouldSkip(ctx, "ruled", mixed[i]); return err })
		plainR = append(plainR, float64(plain)/float64(raw))
		ruledR = append(ruledR, float64(ruled)/float64(raw))
		at += block
	}
	t.Logf("ShouldSkip, list of %d, distinct numbers in mixed formats (blocks of %d calls): no rules %s, 1,000 rules %s a raw SISMEMBER",
		len(listed), block, spread(plainR), spread(ruledR))
}

// purgeCost: Purge of a list of which a third has expired, with the longest command
// it ran (SLOWLOG, threshold 1 ms).
func purgeCost(t *testing.T, e164 []string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	enf := newEnforcer(t, rdb)
	st := store.New(rdb, "")
	es := withMeta(e164)
	for i := range es {
		if i%3 == 0 {
			es[i].ExpiresAt = time.Now().Add(-time.Hour)
		}
	}
	addAll(t, st, "acme", es)
	watchSlowlog(t, rdb)
	start := time.Now()
	n, err := enf.Purge(ctx, "acme")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	mx, over := slowest(t, rdb)
	t.Logf("Purge of %d expired among %d: %v (%.0f removed/s); longest command %v, %d over 2 ms",
		n, len(es), took.Round(time.Millisecond), float64(n)/took.Seconds(), mx, over)
}

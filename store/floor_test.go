package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestLayoutFloor measures the least that any layout of this kind can cost, next to the
// raw commands the write and batch-check targets are set against, in the same run: the
// writes and reads of a layout that keeps each number's record in a small hashed bucket
// (what keeps memory near a plain SET's, as listpacks), with none of the rest of what
// the library does: no script, no all-or-nothing, no counts, no stamps, no table that
// grows, and every argument built before the clock starts.
//
//   - "bucket": one HSET a bucket the call's numbers fall in (fields: the digits and a
//     17-byte record), all of a call in one pipeline;
//   - "bucket+log+chunk": the same, plus the number's place in the listing (HSET into a
//     log block of 128) and in number order for search (SADD into a chunk of 288
//     numbers, bases chosen ideally from the final list), each command grouped by key;
//   - "bulk": the whole list built at once, as a loader into an empty org could: every
//     bucket, log block and chunk written once with all of its members (one HSET or SADD
//     a key, 10 commands a pipeline);
//   - reads: HMGET of a call's numbers from each bucket they fall in, in one pipeline.
//
// The raw commands are SADD and SMISMEMBER of 1,000 members a command, 10 commands a
// pipeline, on one set, as in BenchmarkScrub and TestScale. Each round runs every
// variant once, the raw ones first in even rounds and last in odd ones; the figures
// are each variant's throughput over the raw command's in the same round, median and
// (min–max). It runs only when asked:
//
//	DNC_FLOOR=1 go test ./store -run TestLayoutFloor -v -timeout 30m
//
// DNC_FLOOR_N (default "10000,1000000") lists the list sizes; DNC_FLOOR_ROUNDS (5) the
// rounds, DNC_FLOOR_LOAD (24) the numbers a bucket (the library's average is 16 to 32;
// a listpack holds up to 128 fields by default). It asserts nothing of the figures; it
// logs them.
func TestLayoutFloor(t *testing.T) {
	if os.Getenv("DNC_FLOOR") == "" {
		t.Skip("DNC_FLOOR=1 measures the least a bucketed layout costs")
	}
	sizes := []int{10_000, 1_000_000}
	if v := os.Getenv("DNC_FLOOR_N"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1000 {
				t.Fatalf("DNC_FLOOR_N: %q", f)
			}
			sizes = append(sizes, n)
		}
	}
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("DNC_FLOOR_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	load := 24
	if v, err := strconv.Atoi(os.Getenv("DNC_FLOOR_LOAD")); err == nil && v > 0 {
		load = v
	}
	rdb := redistest.Start(t).Client(t)
	for _, n := range sizes {
		t.Run(fmt.Sprintf("list-%d", n), func(t *testing.T) { layoutFloor(t, rdb, n, load, rounds) })
	}
}

// floorOp is one call's commands, built before the clock starts.
type floorOp [][]any

func layoutFloor(t *testing.T, rdb *redis.Client, n, load, rounds int) {
	ctx := context.Background()
	numbers := numgen.E164(31, n)
	values := make([]uint64, n)
	for i, num := range numbers {
		values[i], _ = parseDigits(num[1:])
	}
	nb := uint64(max(1, n/load))
	bucketOf := func(v uint64) string { return "f:{o}:b:" + strconv.FormatUint(hashValue(v)%nb, 10) }
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	var bases []uint64 // a chunk for every 288 numbers of the final list
	for i := 0; i < n; i += 288 {
		bases = append(bases, sorted[i])
	}
	chunkOf := func(v uint64) (string, uint64) {
		i, found := slices.BinarySearch(bases, v)
		if !found {
			i--
		}
		return "f:{o}:o:" + strconv.FormatUint(bases[i], 10), v - bases[i]
	}
	const rec = "0123456789abcdefg" // a record's 17-byte head

	// group returns, for the numbers at idx, one command per key: name key, then args(i)
	// for each number i of the key, in first-seen order.
	group := func(name string, idx []int, key func(int) string, args func(int) []any) [][]any {
		at := map[string]int{}
		var cmds [][]any
		for _, i := range idx {
			k := key(i)
			j, ok := at[k]
			if !ok {
				j = len(cmds)
				at[k] = j
				cmds = append(cmds, []any{name, k})
			}
			cmds[j] = append(cmds[j], args(i)...)
		}
		return cmds
	}
	span := func(lo, hi int) []int {
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		return idx
	}
	writes := func(call int, full bool) []floorOp {
		var ops []floorOp
		for lo := 0; lo < n; lo += call {
			idx := span(lo, min(lo+call, n))
			op := group("hset", idx, func(i int) string { return bucketOf(values[i]) },
				func(i int) []any { return []any{numbers[i][1:], rec} })
			if full {
				op = append(op, group("hset", idx, func(i int) string { return "f:{o}:l:" + strconv.Itoa(i/128) },
					func(i int) []any { return []any{strconv.Itoa(i % 128), numbers[i][1:]} })...)
				op = append(op, group("sadd", idx, func(i int) string { k, _ := chunkOf(values[i]); return k },
					func(i int) []any { _, m := chunkOf(values[i]); return []any{m} })...)
			}
			ops = append(ops, op)
		}
		return ops
	}
	// raw is the raw command name of members, 1,000 members a command, 10 commands a
	// pipeline, on one set.
	raw := func(name string, members []string) []floorOp {
		var ops []floorOp
		for lo := 0; lo < len(members); lo += 10_000 {
			var op floorOp
			for c := lo; c < min(lo+10_000, len(members)); c += 1000 {
				cmd := []any{name, "f:{o}:raw"}
				for _, m := range members[c:min(c+1000, len(members))] {
					cmd = append(cmd, m)
				}
				op = append(op, cmd)
			}
			ops = append(ops, op)
		}
		return ops
	}

	// The batch checked: 100,000 numbers (a tenth of them listed), or as many as listed.
	q := min(100_000, 10*n)
	others := numgen.E164(32, q)
	listed := make(map[string]bool, n)
	for _, num := range numbers {
		listed[num] = true
	}
	query := make([]string, 0, q)
	for i := 0; len(query) < q; i++ {
		if i%10 == 0 {
			query = append(query, numbers[(i/10)%n])
		} else if o := others[i%len(others)]; !listed[o] {
			query = append(query, o)
		}
	}
	reads := func(call int) []floorOp {
		var ops []floorOp
		for lo := 0; lo < q; lo += call {
			idx := span(lo, min(lo+call, q))
			ops = append(ops, group("hmget", idx, func(i int) string { v, _ := parseDigits(query[i][1:]); return bucketOf(v) },
				func(i int) []any { return []any{query[i][1:]} }))
		}
		return ops
	}
	type variant struct {
		name  string
		ops   []floorOp
		write bool // starts from an empty database
		count int  // numbers it handles
	}
	rawW := variant{"raw SADD", raw("sadd", numbers), true, n}
	rawR := variant{"raw SMISMEMBER", raw("smismember", query), false, q}
	var vs []variant
	for _, call := range []int{1000, 10_000} {
		vs = append(vs, variant{fmt.Sprintf("write bucket, calls of %d", call), writes(call, false), true, n})
		vs = append(vs, variant{fmt.Sprintf("write bucket+log+chunk, calls of %d", call), writes(call, true), true, n})
	}
	var bulk floorOp // the whole list, each key once, in pipelines of 10 commands
	for _, cmd := range writes(n, true)[0] {
		bulk = append(bulk, cmd)
	}
	var bulkOps []floorOp
	for lo := 0; lo < len(bulk); lo += 10 {
		bulkOps = append(bulkOps, bulk[lo:min(lo+10, len(bulk))])
	}
	vs = append(vs, variant{fmt.Sprintf("bulk build, %d commands", len(bulk)), bulkOps, true, n})
	var rs []variant
	for _, call := range []int{1000, 10_000, 100_000} {
		if call <= q {
			rs = append(rs, variant{fmt.Sprintf("read bucket, calls of %d", call), reads(call), false, q})
		}
	}
	nCmds := 0
	for _, op := range vs[1].ops {
		nCmds += len(op)
	}
	t.Logf("list of %d in %d buckets: bucket+log+chunk writes in calls of 1000 send %.2f commands a number", n, nb, float64(nCmds)/float64(n))

	run := func(v variant) time.Duration {
		if v.write {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		for _, op := range v.ops {
			pipe := rdb.Pipeline()
			for _, cmd := range op {
				_ = pipe.Process(ctx, redis.NewCmd(ctx, cmd...))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	fill := func() { // the list, in the set and in the buckets, for the reads
		run(rawW)
		run(variant{ops: writes(10_000, false)})
	}
	ratios := map[string][]float64{}
	var names []string
	for r := 0; r < rounds; r++ {
		for _, set := range [][]variant{vs, rs} {
			ref := rawW
			if !set[0].write {
				ref = rawR
				fill()
			}
			var rawTime time.Duration
			if r%2 == 0 {
				rawTime = run(ref)
			}
			times := make([]time.Duration, len(set))
			for i, v := range set {
				times[i] = run(v)
			}
			if r%2 == 1 {
				rawTime = run(ref)
			}
			for i, v := range set {
				if r == 0 {
					names = append(names, v.name)
				}
				ratios[v.name] = append(ratios[v.name], rawTime.Seconds()/times[i].Seconds())
			}
			if r == 0 {
				t.Logf("round 0: %s %.0f numbers/s", ref.name, float64(ref.count)/rawTime.Seconds())
			}
		}
	}
	for _, name := range names {
		rs := ratios[name]
		slices.Sort(rs)
		t.Logf("%-40s %.3f× the raw command's throughput (%.3f–%.3f, %d rounds)", name, rs[len(rs)/2], rs[0], rs[len(rs)-1], len(rs))
	}
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestWriteCost measures what a bulk Add and Remove cost Redis itself, per number,
// next to raw SADD and SREM of the same E.164 strings (1,000 members a command): the
// server's own CPU time (INFO cpu, which other load on the machine barely moves) and
// the commands the scripts run (INFO commandstats, which counts the redis.call of a
// script too). It runs only when asked:
//
//	DNC_WRITECOST=1 go test ./store -run TestWriteCost -v
//
// DNC_WRITECOST_N (default 200,000) sets how many numbers. It asserts nothing of the
// figures; it logs them, and how long the commands held Redis (SLOWLOG, every command
// logged).
func TestWriteCost(t *testing.T) {
	if os.Getenv("DNC_WRITECOST") == "" {
		t.Skip("DNC_WRITECOST=1 measures the Redis cost of bulk writes")
	}
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("DNC_WRITECOST_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	s := New(rdb, "")
	numbers := numgen.E164(11, n)
	plain := make([]Entry, n)
	for i, num := range numbers {
		plain[i].Number = num
	}
	// Every command goes to SLOWLOG, so that each measurement can say how long its
	// commands held Redis (commandHolds).
	for _, kv := range [][2]string{{"slowlog-log-slower-than", "0"}, {"slowlog-max-len", "1000000"}} {
		if err := rdb.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	measure := func(name string, fn func()) {
		t.Helper()
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Do(ctx, "SLOWLOG", "RESET").Err(); err != nil {
			t.Fatal(err)
		}
		cpu0 := serverCPU(t, rdb)
		start := time.Now()
		fn()
		wall := time.Since(start)
		cpu := serverCPU(t, rdb) - cpu0
		stats := commandStats(t, rdb)
		var calls int64
		var parts []string
		for _, c := range stats {
			if c.name == "evalsha" || c.name == "eval" || c.name == "info" || c.name == "config|resetstat" {
				continue
			}
			calls += c.calls
			parts = append(parts, fmt.Sprintf("%s %.3f", c.name, float64(c.calls)/float64(n)))
		}
		script := ""
		for _, c := range stats {
			if c.name == "evalsha" {
				script = fmt.Sprintf("; %d scripts, %.0f µs each (commandstats)", c.calls, c.usecPerCall)
			}
		}
		t.Logf("%-22s Redis CPU %.2f µs/number, wall %.2f µs/number; commands %.3f/number (%s)%s",
			name, cpu.Seconds()*1e6/float64(n), wall.Seconds()*1e6/float64(n), float64(calls)/float64(n), strings.Join(parts, ", "), script)
		t.Logf("%-22s %s", "", commandHolds(t, rdb))
	}
	raw := func(del bool) {
		for lo := 0; lo < n; lo += 10_000 {
			pipe := rdb.Pipeline()
			for c := lo; c < min(lo+10_000, n); c += 1000 {
				ms := make([]any, 0, 1000)
				for _, num := range numbers[c:min(c+1000, n)] {
					ms = append(ms, num)
				}
				if del {
					pipe.SRem(ctx, "raw", ms...)
				} else {
					pipe.SAdd(ctx, "raw", ms...)
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	add := func(org string, es []Entry, call int) func() {
		return func() {
			for lo := 0; lo < n; lo += call {
				if _, err := s.Add(ctx, org, es[lo:min(lo+call, n)], time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	remove := func(org string, call int) func() {
		return func() {
			for lo := 0; lo < n; lo += call {
				if _, err := s.Remove(ctx, org, numbers[lo:min(lo+call, n)]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	measure("raw SADD", func() { raw(false) })
	measure("Add (calls of 1000)", add("plain", plain, 1000))
	measure("Add again (all listed)", add("plain", plain, 1000))
	measure("Add with metadata", add("meta", withMeta(numbers), 10_000))
	sorted := slices.Clone(plain) // a sorted file, as registries publish theirs
	slices.SortFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Number, b.Number) })
	measure("Add sorted numbers", add("sorted", sorted, 1000))
	measure("raw SREM", func() { raw(true) })
	measure("Remove (calls of 1000)", remove("plain", 1000))
	measure("Remove with metadata", remove("meta", 10_000))
}

// commandHolds says how long the writes' commands (the scripts, or raw SADD and SREM)
// held Redis, by SLOWLOG: median, p99, p99.9, the longest, and how many took over 2 ms.
func commandHolds(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	logs, err := rdb.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	// SLOWLOG lists the commands a script runs too: the scripts, when there are any,
	// else the raw commands
	byName := map[string][]time.Duration{}
	for _, l := range logs {
		if len(l.Args) > 0 {
			name := strings.ToLower(l.Args[0])
			byName[name] = append(byName[name], l.Duration)
		}
	}
	d := byName["evalsha"]
	if len(d) == 0 {
		d = append(byName["sadd"], byName["srem"]...)
	}
	if len(d) == 0 {
		return "no write commands in SLOWLOG"
	}
	slices.Sort(d)
	over := len(d) - sort.Search(len(d), func(i int) bool { return d[i] > 2*time.Millisecond })
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return fmt.Sprintf("%d write commands (scripts or raw) held Redis: median %v, p99 %v, p99.9 %v, longest %v; %d over 2 ms",
		len(d), at(0.5), at(0.99), at(0.999), d[len(d)-1], over)
}

func serverCPU(t *testing.T, rdb *redis.Client) time.Duration {
	t.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

type cmdStat struct {
	name        string
	calls       int64
	usecPerCall float64
}

func commandStats(t *testing.T, rdb *redis.Client) []cmdStat {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []cmdStat
	for _, line := range strings.Split(info, "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		c := cmdStat{name: name}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				c.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec_per_call":
				c.usecPerCall, _ = strconv.ParseFloat(v, 64)
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].calls > out[j].calls })
	return out
}

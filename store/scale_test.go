package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// randomE164 returns n distinct random numbers in E.164 that look like real ones: US
// and Canadian (NPA and NXX 2-9xx), British mobiles and German landlines, mixed.
func randomE164(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[string]struct{}, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var s string
		switch x := r.IntN(10); {
		case x < 7:
			s = fmt.Sprintf("+1%d%02d%d%02d%04d", 2+r.IntN(8), r.IntN(100), 2+r.IntN(8), r.IntN(100), r.IntN(10000))
		case x < 9:
			s = fmt.Sprintf("+447%d%08d", 4+r.IntN(6), r.IntN(1e8))
		default:
			s = fmt.Sprintf("+49%d%07d", 30+r.IntN(60), r.IntN(1e7))
		}
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

func usedMemory(t testing.TB, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory")
	return 0
}

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

func TestScaleMemory(t *testing.T) {
	if os.Getenv("DNC_SCALE") == "" {
		t.Skip("DNC_SCALE=1 runs the scale measurements")
	}
	n, _ := strconv.Atoi(os.Getenv("DNC_SCALE_N"))
	if n == 0 {
		n = 1000000
	}
	numbers := randomE164(1, n)
	for _, meta := range []bool{false, true} {
		srv := redistest.Start(t)
		rdb := srv.Client(t)
		ctx := context.Background()
		before := usedMemory(t, rdb)
		for lo := 0; lo < n; lo += 1000 {
			if err := rdb.SAdd(ctx, "raw", toAny(numbers[lo:min(lo+1000, n)])...).Err(); err != nil {
				t.Fatal(err)
			}
		}
		raw := usedMemory(t, rdb) - before
		s := New(rdb, "")
		var es []Entry
		if meta {
			es = withMeta(numbers)
		} else {
			es = make([]Entry, n)
			for i := range es {
				es[i].Number = numbers[i]
			}
		}
		before = usedMemory(t, rdb)
		t0 := time.Now()
		for lo := 0; lo < n; lo += 10000 {
			if _, err := s.Add(ctx, "acme", es[lo:min(lo+10000, n)], time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(t0)
		ours := usedMemory(t, rdb) - before
		m, _ := rdb.HGetAll(ctx, "dnc:{acme}:meta").Result()
		t.Logf("n=%d meta=%v: raw SET %.1f B/number, store %.1f B/number (%.2fx), add %.0f/s; meta %v", n, meta,
			float64(raw)/float64(n), float64(ours)/float64(n), float64(ours)/float64(raw), float64(n)/took.Seconds(), m)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

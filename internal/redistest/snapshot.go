package redistest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Keys returns every key in rdb (on every master of a cluster), sorted. For test
// servers only: it scans the whole keyspace.
func Keys(tb testing.TB, rdb redis.UniversalClient) []string {
	tb.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, "*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		tb.Fatalf("redistest.Keys: unsupported client %T", rdb)
	}
	if err != nil {
		tb.Fatalf("scan keys: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// Snapshot returns every key of rdb with its type and whole value, one line each,
// sorted, so that a test can prove a failed call changed nothing by comparing two
// snapshots. It reads strings, sets, hashes, sorted sets and streams; another type fails tb.
func Snapshot(tb testing.TB, rdb redis.UniversalClient) string {
	tb.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, k := range Keys(tb, rdb) {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			tb.Fatalf("TYPE %s: %v", k, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "set":
			var m []string
			m, err = rdb.SMembers(ctx, k).Result()
			slices.Sort(m)
			v = m
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result() // fmt prints maps sorted
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		default:
			tb.Fatalf("key %s has unexpected type %s", k, typ)
		}
		if err != nil {
			tb.Fatalf("read %s: %v", k, err)
		}
		fmt.Fprintf(&b, "%s %s %v\n", k, typ, v)
	}
	return b.String()
}

package store

import (
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestClusterKeysShareOneSlot proves on a real Redis Cluster what miniredis cannot: the
// scripts, which derive bucket and log block keys inside Lua, run on a cluster, and
// every key of an org (however many buckets and blocks its list has grown) is in the
// slot of "{org}", on one node.
func TestClusterKeysShareOneSlot(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb := c.Client(t)
	ctx := ctxT(t)
	s := New(rdb, "")
	orgs := []string{"acme", "globex-eu", "org:with:colons", "ünïcode"}
	for _, o := range orgs {
		numbers := numgen.E164(11, 2500)
		es := withMeta(numbers)
		if _, err := s.Add(ctx, o, es, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEnabled(ctx, o, true); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Remove(ctx, o, numbers[:100]); n != 100 || err != nil {
			t.Fatalf("Remove = %d, %v", n, err)
		}
		if _, ok, err := s.DeleteByID(ctx, o, es[200].ID); !ok || err != nil {
			t.Fatalf("DeleteByID = %v, %v", ok, err)
		}
		if page, total, err := s.List(ctx, o, 1000, 10); len(page) != 10 || total != 2399 || err != nil {
			t.Fatalf("List = %d, %d, %v", len(page), total, err)
		}
		if _, ls, err := s.CheckMany(ctx, o, numbers[:1500], true); err != nil || ls[0] || !ls[1400] {
			t.Fatalf("CheckMany = %v, %v", err, ls != nil)
		}
		if got, total, err := s.Search(ctx, o, Query{Text: "batch-000000"}, 0, 10); len(got) != 10 || total != 2399 || err != nil {
			t.Fatalf("Search = %d, %d, %v", len(got), total, err)
		}
		if got, total, err := s.Search(ctx, o, Query{Text: es[300].RequestUUID}, 0, 10); len(got) != 1 || got[0] != es[300] || total != 1 || err != nil {
			t.Fatalf("Search(requestUUID) = %v, %d, %v; want %+v", got, total, err, es[300])
		}
		if got, total, err := s.Search(ctx, o, Query{Prefixes: []string{numbers[300][1:]}}, 0, 10); len(got) != 1 || got[0] != es[300] || total != 1 || err != nil {
			t.Fatalf("Search(number) = %v, %d, %v; want %+v", got, total, err, es[300])
		}
		want, err := rdb.ClusterKeySlot(ctx, "{"+o+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, n := range c.Nodes {
			nc := redis.NewClient(&redis.Options{Addr: n.Addr})
			ks, err := nc.Keys(ctx, redisEscape(Base("dnc", o))+"*").Result()
			_ = nc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) > 0 && len(found) > 0 {
				t.Errorf("org %q: keys on more than one node", o)
			}
			found = append(found, ks...)
		}
		kinds := map[string]int{}
		for _, k := range found {
			slot, err := rdb.ClusterKeySlot(ctx, k).Result()
			if err != nil || slot != want {
				t.Errorf("org %q: key %s in slot %d, %v; want %d", o, k, slot, err, want)
			}
			kind, _, _ := strings.Cut(strings.TrimPrefix(k, Base("dnc", o)), ":")
			kinds[kind]++
		}
		if kinds["meta"] != 1 || kinds["f"] != 1 || kinds["d"] != 1 || kinds["b"] < 32 || kinds["l"] < 19 || kinds["g"] != 1 ||
			kinds["x"] == 0 || kinds["xc"] == 0 || kinds["r"] == 0 || kinds["o"] == 0 || kinds["audit"] != 1 || len(kinds) != 11 {
			t.Errorf("org %q: keys by kind %v", o, kinds)
		}
	}
	s1, _ := rdb.ClusterKeySlot(ctx, "{acme}").Result()
	s2, _ := rdb.ClusterKeySlot(ctx, "{globex-eu}").Result()
	if s1 == s2 {
		t.Fatalf("test orgs share slot %d", s1)
	}
}

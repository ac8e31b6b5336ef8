package redistest_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestStandalone(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
}

func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := cl.Client(t)
	ctx := context.Background()
	var masters atomic.Int32
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { masters.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if masters.Load() != 3 {
		t.Fatalf("masters = %d, want 3", masters.Load())
	}
	// Keys in different slots land on different nodes and still read back.
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := c.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, _ := c.Get(ctx, k).Result(); v != k {
			t.Fatalf("GET %s = %q", k, v)
		}
	}
}

// TestStartNeverReturnsAForeignServer: when the port it picked is taken by another
// Redis before its own binds, launch fails instead of handing out the other server.
func TestStartNeverReturnsAForeignServer(t *testing.T) {
	other := redistest.Start(t)
	_, port, _ := strings.Cut(other.Addr, ":")
	p, _ := strconv.Atoi(port)
	s, err := redistest.Launch(t.TempDir(), p)
	if err == nil {
		s.Stop()
		t.Fatalf("launch on a port served by another Redis succeeded")
	}
	// The other server is untouched.
	if err := other.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the other server: %v", err)
	}
}

// A write acknowledged by a server with an fsynced append-only file survives kill -9.
func TestAOFRestart(t *testing.T) {
	s := redistest.StartAOF(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after kill -9 and restart = %q, %v; want v", v, err)
	}
}

// Killing the master of a key's slot makes its replica take over, with the data.
func TestClusterReplicasFailover(t *testing.T) {
	redistest.Faults(t)
	cl := redistest.StartClusterReplicas(t)
	if len(cl.Nodes) != 6 {
		t.Fatalf("nodes = %d, want 6", len(cl.Nodes))
	}
	c := cl.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Set(ctx, "{k}x", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	m, err := cl.MasterOf(ctx, "{k}x")
	if err != nil {
		t.Fatal(err)
	}
	mc := redis.NewClient(&redis.Options{Addr: m.Addr})
	defer mc.Close()
	if n, err := mc.Wait(ctx, 1, 5000).Result(); err != nil || n != 1 { // the replica has the write
		t.Fatalf("WAIT 1 on the master = %d, %v; want 1", n, err)
	}
	m.Stop()
	addr, err := cl.WaitFailover(ctx, "{k}x", m)
	if err != nil {
		t.Fatal(err)
	}
	if addr == m.Addr {
		t.Fatalf("failover kept the dead master %s", addr)
	}
	nc := redis.NewClient(&redis.Options{Addr: addr})
	defer nc.Close()
	if v, err := nc.Get(ctx, "{k}x").Result(); err != nil || v != "v" {
		t.Fatalf("GET on the new master %s = %q, %v; want v", addr, v, err)
	}
}

package redistest_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

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

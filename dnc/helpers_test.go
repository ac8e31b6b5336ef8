package dnc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// backend is a Redis the behaviour suite runs against.
type backend struct {
	name   string
	client redis.UniversalClient
}

func miniBackend(t *testing.T) backend {
	t.Helper()
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return backend{name: "miniredis", client: c}
}

// counter is a redis.Hook that counts round trips: one per command sent alone, one per
// pipeline. It can also fail every command with err, to inject faults.
type counter struct {
	trips atomic.Int64
	mu    sync.Mutex
	err   error
}

func (c *counter) fail(err error) { c.mu.Lock(); c.err = err; c.mu.Unlock() }
func (c *counter) failure() error { c.mu.Lock(); defer c.mu.Unlock(); return c.err }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		if err := c.failure(); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		if err := c.failure(); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// hooked returns rdb with a fresh counter attached. For a cluster client the hook sees
// each command once, as for a single node.
func hooked(rdb redis.UniversalClient) (redis.UniversalClient, *counter) {
	c := &counter{}
	rdb.AddHook(c)
	return rdb, c
}

// newEnforcer returns an Enforcer over b and fails the test on error.
func newEnforcer(t *testing.T, rdb redis.UniversalClient, opts ...dnc.Option) *dnc.Enforcer {
	t.Helper()
	e, err := dnc.New(rdb, opts...)
	if err != nil {
		t.Fatalf("dnc.New: %v", err)
	}
	return e
}

var orgSeq atomic.Int64

// org returns an org id no other test uses, so tests sharing a server never meet.
func org(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "_", "{", "(", "}", ")").Replace(t.Name())
	return fmt.Sprintf("%s-%d", name, orgSeq.Add(1))
}

func allKeys(t *testing.T, rdb redis.UniversalClient) []string { return redistest.Keys(t, rdb) }

// snapshot returns every key and its contents, to prove that a failed call wrote nothing.
func snapshot(t *testing.T, rdb redis.UniversalClient) string { return redistest.Snapshot(t, rdb) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

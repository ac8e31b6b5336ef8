package dnchttp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a go-redis client,
// a miniredis or a server left open. One go-redis goroutine is let be: after the
// dials to a dead Redis fail, a pool probes it once a second, and notices that its
// client was closed only when it wakes (pool.go, tryDial).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

package dnc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/redis/go-redis/v9"
)

// redisError returns the error go-redis reports for a Redis error reply of msg.
func redisError(t *testing.T, msg string) error {
	t.Helper()
	mr := miniredis.RunT(t)
	mr.SetError(msg)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer c.Close()
	err := c.Get(context.Background(), "k").Err()
	if err == nil || err.Error() != msg {
		t.Fatalf("a Redis error reply %q reads as %v", msg, err)
	}
	return err
}

func TestTransient(t *testing.T) {
	down := func(cause error) error { return fmt.Errorf("%w: check: %w", dnc.ErrUnavailable, cause) }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"deadline", down(context.DeadlineExceeded), true},
		{"refused", down(refused), true},
		{"reset mid-reply", down(io.ErrUnexpectedEOF), true},
		{"closed by the server", down(io.EOF), true},
		{"pool exhausted", down(redis.ErrPoolTimeout), true},
		{"cluster failing over", down(redisError(t, "CLUSTERDOWN The cluster is down")), true},
		{"replica loading", down(redisError(t, "LOADING Redis is loading the dataset in memory")), true},
		{"no replica to write to", down(redisError(t, "NOREPLICAS Not enough good replicas to write.")), true},
		{"caller went away", down(context.Canceled), false},
		{"caller went away while refused", down(fmt.Errorf("%w: %w", context.Canceled, refused)), false},
		{"client closed", down(redis.ErrClosed), false},
		{"script error", down(redisError(t, "ERR Error running script")), false},
		{"wrong type", down(redisError(t, "WRONGTYPE Operation against a key holding the wrong kind of value")), false},
		{"not ErrUnavailable", fmt.Errorf("check: %w", refused), false},
		{"corrupt", fmt.Errorf("%w: %w", dnc.ErrCorrupt, io.EOF), false},
		{"invalid number", &dnc.NumberError{Input: "x", Err: errors.New("bad")}, false},
	} {
		if got := dnc.Transient(tc.err); got != tc.want {
			t.Errorf("%s: Transient(%v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

package dnc

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/redis/go-redis/v9"
)

// Transient reports whether err is a storage outage that may pass by itself, so that
// the caller may answer "try again shortly" rather than "failed": err wraps
// ErrUnavailable and its cause is a deadline (the context's, or one that go-redis set
// on the socket), a network failure (refused, reset or closed connection, DNS), a
// connection pool with no free connection, a Redis Cluster that is failing over
// (CLUSTERDOWN, MASTERDOWN, TRYAGAIN, LOADING), or a master refusing writes until a
// replica is back (NOREPLICAS, under min-replicas-to-write). A caller that went away
// (context.Canceled), a closed client, a script or reply error and ErrCorrupt are not
// transient. Transient(nil) is false.
func Transient(err error) bool {
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || connFailure(err) || redis.IsNoReplicasError(err)
}

// connFailure reports whether err, as go-redis returns it, says that Redis could not
// be reached or did not answer, rather than that it answered with an error.
func connFailure(err error) bool {
	if err == nil || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return redis.IsClusterDownError(err) || redis.IsMasterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsLoadingError(err)
}

package dnc

import (
	"fmt"
	"strings"
	"time"

	"github.com/dncguard/dncguard/store"
	"github.com/redis/go-redis/v9"
)

// An Option configures an Enforcer. The zero configuration (no options) works: region
// US, key prefix "dnc", enforcement on for orgs that never set it, fail closed.
type Option func(*config) error

type config struct {
	region         string
	prefix         string
	defaultEnabled bool
	failOpen       bool
	observer       Observer
	now            func() time.Time
	replicas       int
	replicaTimeout time.Duration

	requirePersistence bool

	minRetention map[string]time.Duration // by lower-case type; see WithMinRetention
	auditAge     time.Duration
	auditMaxLen  int64
}

// DefaultRetention is the shortest life an entry of type "customer_request" may be
// given unless WithMinRetention says otherwise: 5 years, as 47 CFR 64.1200(d)(6) asks of
// a company-specific do-not-call request.
const DefaultRetention = 5 * 365 * 24 * time.Hour

// WithMinRetention sets the shortest life, from its creation, that an entry of type typ
// (compared without regard to case) may be given by Meta.ExpiresAt: an expiry sooner
// is refused with ErrInvalidArgument. d = 0 allows any expiry for the type. Default:
// DefaultRetention for "customer_request", none for other types.
func WithMinRetention(typ string, d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: retention %v for type %q", ErrInvalidArgument, d, typ)
		}
		c.minRetention[strings.ToLower(typ)] = d
		return nil
	}
}

// WithAuditRetention sets how long the audit log keeps events (0: no bound by age;
// default 5 years) and how many it keeps at most (0, the default: no bound). Trimming
// happens as events are written, a block of about 100 events at a time, so a few
// events past either bound may remain.
func WithAuditRetention(age time.Duration, maxEvents int64) Option {
	return func(c *config) error {
		if age < 0 || maxEvents < 0 {
			return fmt.Errorf("%w: audit retention %v, %d events", ErrInvalidArgument, age, maxEvents)
		}
		c.auditAge, c.auditMaxLen = age, maxEvents
		return nil
	}
}

// WithDefaultRegion sets the region (ISO 3166-1 alpha-2, any case) whose national format
// is used to read numbers written without a country code. Default "US". An unknown
// region makes New fail.
func WithDefaultRegion(region string) Option {
	return func(c *config) error { c.region = region; return nil }
}

// WithKeyPrefix sets the prefix of every Redis key, so that several applications can
// share one Redis. Default "dnc". It must be non-empty and hold no "{" or "}" (they would
// change the keys' Redis Cluster hash slot).
func WithKeyPrefix(prefix string) Option {
	return func(c *config) error {
		if err := store.CheckPrefix(prefix); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		c.prefix = prefix
		return nil
	}
}

// WithDefaultEnabled sets whether DNC is enforced for an org that never called
// SetEnabled. Default true: an org is enforced until it switches DNC off.
func WithDefaultEnabled(enabled bool) Option {
	return func(c *config) error { c.defaultEnabled = enabled; return nil }
}

// WithFailOpen makes checks answer "may dial" (skip false) when storage fails or the
// context ends, still returning the error. Default off: such a check answers skip true.
// Invalid numbers and org ids are skipped either way.
func WithFailOpen() Option {
	return func(c *config) error { c.failOpen = true; return nil }
}

// WithObserver has every decision of Check, ShouldSkip, CheckMany and CheckManyIn
// reported to o, for metrics and logs. Default none.
func WithObserver(o Observer) Option {
	return func(c *config) error { c.observer = o; return nil }
}

// WithClock sets the clock that stamps new entries' CreatedAt. Default time.Now; nil is
// an error. Whether an entry has expired is judged by the Redis server's clock, never
// by this one.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidArgument)
		}
		c.now = now
		return nil
	}
}

// WithWriteReplicas makes every write (Add, AddEntry, Remove, DeleteByID, SetEnabled)
// wait until n replicas of the Redis node that holds the org have acknowledged it, at
// most timeout (Redis' WAIT), and return an error wrapping ErrNotReplicated when fewer
// did in time: the write is done on the master, but a failover now could lose it. Use it
// with replicas and, on the servers, min-replicas-to-write (see the README). Default:
// no waiting. n must be 1 or more and timeout positive and shorter than the client's
// ReadTimeout (WAIT must answer before go-redis gives up on the connection, which would
// make it send the writes again). It works with a *redis.Client, a failover client and
// a *redis.ClusterClient; New refuses it with a *redis.Ring, whose pipelines would send
// WAIT to a shard of their own choosing.
func WithWriteReplicas(n int, timeout time.Duration) Option {
	return func(c *config) error {
		if n < 1 || timeout <= 0 {
			return fmt.Errorf("%w: write replicas %d, timeout %v: want n >= 1 and a positive timeout", ErrInvalidArgument, n, timeout)
		}
		c.replicas, c.replicaTimeout = n, timeout
		return nil
	}
}

// checkReplicas refuses WithWriteReplicas where WAIT cannot be relied on.
func checkReplicas(rdb redis.UniversalClient, cfg config) error {
	if cfg.replicas == 0 {
		return nil
	}
	var read time.Duration
	switch c := rdb.(type) {
	case *redis.Client:
		read = c.Options().ReadTimeout
	case *redis.ClusterClient:
		read = c.Options().ReadTimeout
	default:
		return fmt.Errorf("%w: WithWriteReplicas needs a *redis.Client, a failover client or a *redis.ClusterClient, not a %T", ErrInvalidArgument, rdb)
	}
	if read > 0 && cfg.replicaTimeout >= read {
		return fmt.Errorf("%w: WithWriteReplicas timeout %v must be shorter than the client's ReadTimeout %v", ErrInvalidArgument, cfg.replicaTimeout, read)
	}
	return nil
}

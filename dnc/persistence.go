package dnc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotPersistent: New was given WithRequirePersistence and a Redis server behind the
// client keeps nothing on disk (no AOF, no RDB snapshots), or its persistence could not
// be read. A restart of such a server empties every list, and every listed number then
// reads as "dial" to a dialer that did not see the list before.
var ErrNotPersistent = errors.New("dnc: redis server does not persist its data")

// A PersistenceObserver is an Observer that New also tells, once per Redis master
// behind the client, when that server would lose the lists on a restart (or when its
// persistence could not be read: CONFIG disabled and no AOF reported, or the server
// unreachable). Only when the Observer implements it (or WithRequirePersistence is
// given) does New contact Redis.
type PersistenceObserver interface {
	Observer
	// Unpersisted reports the server's address and what was found, in words.
	Unpersisted(server, detail string)
}

// WithRequirePersistence makes New inspect every Redis master behind the client (CONFIG
// GET appendonly and save, falling back to INFO persistence where CONFIG is disabled;
// INFO replication for the replicas) and fail with ErrNotPersistent when one keeps
// nothing on disk or cannot be inspected. Default off.
func WithRequirePersistence() Option {
	return func(c *config) error { c.requirePersistence = true; return nil }
}

// inspectTimeout bounds New's inspection of the servers.
const inspectTimeout = 3 * time.Second

// persistence is what New finds of one master.
type persistence struct {
	addr      string
	persisted bool   // AOF on, or RDB snapshots configured
	known     bool   // persisted could be read
	detail    string // for the Observer and errors
}

// checkPersistence inspects rdb's masters as WithRequirePersistence and a
// PersistenceObserver ask.
func checkPersistence(rdb redis.UniversalClient, cfg config) error {
	po, observe := cfg.observer.(PersistenceObserver)
	if !observe && !cfg.requirePersistence {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), inspectTimeout)
	defer cancel()
	found, err := inspect(ctx, rdb)
	if err != nil {
		if observe {
			po.Unpersisted("", "could not inspect the redis servers: "+err.Error())
		}
		if cfg.requirePersistence {
			return fmt.Errorf("%w: could not inspect: %w", ErrNotPersistent, err)
		}
		return nil
	}
	var bad []string
	for _, p := range found {
		if p.persisted && p.known {
			continue
		}
		if observe {
			po.Unpersisted(p.addr, p.detail)
		}
		bad = append(bad, p.addr+": "+p.detail)
	}
	if cfg.requirePersistence && len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrNotPersistent, strings.Join(bad, "; "))
	}
	return nil
}

// inspect reads the persistence of every master behind rdb.
func inspect(ctx context.Context, rdb redis.UniversalClient) ([]persistence, error) {
	var mu sync.Mutex
	var out []persistence
	one := func(ctx context.Context, c *redis.Client) error {
		p, err := inspectOne(ctx, c)
		if err != nil {
			return err
		}
		mu.Lock()
		out = append(out, p)
		mu.Unlock()
		return nil
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
	case *redis.Ring:
		err = c.ForEachShard(ctx, one)
	case *redis.Client:
		err = one(ctx, c)
	default:
		err = fmt.Errorf("cannot inspect a %T", rdb)
	}
	return out, err
}

func inspectOne(ctx context.Context, c *redis.Client) (persistence, error) {
	p := persistence{addr: c.Options().Addr}
	replicas := "no replicas"
	if info, err := c.Info(ctx, "replication").Result(); err == nil {
		if v := infoField(info, "connected_slaves"); v != "" && v != "0" {
			replicas = v + " replica(s), which a restarted empty master would empty too"
		}
	} else if !isCommandRefused(err) {
		return p, err
	}
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err == nil {
		aof, save := cfg["appendonly"], strings.TrimSpace(cfg["save"])
		p.known = true
		p.persisted = aof == "yes" || save != ""
		p.detail = fmt.Sprintf("appendonly %s, save %q, %s", aof, save, replicas)
		if !p.persisted {
			p.detail = "keeps nothing on disk (" + p.detail + "): a restart empties every list"
		}
		return p, nil
	}
	if !isCommandRefused(err) {
		return p, err
	}
	// CONFIG is disabled (renamed away, or an ACL): INFO persistence says whether AOF
	// is on, but not whether RDB snapshots are configured.
	info, err := c.Info(ctx, "persistence").Result()
	if err != nil && !isCommandRefused(err) {
		return p, err
	}
	if infoField(info, "aof_enabled") == "1" {
		p.known, p.persisted = true, true
		p.detail = "aof enabled, " + replicas
		return p, nil
	}
	p.detail = "persistence unknown: CONFIG is disabled and INFO reports no AOF (" + replicas + ")"
	return p, nil
}

// isCommandRefused reports an error reply (the server answered, refusing the command),
// as opposed to a failure to reach it.
func isCommandRefused(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

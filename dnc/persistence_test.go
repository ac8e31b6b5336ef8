package dnc_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

type persistenceRecorder struct {
	recorder
	mu    sync.Mutex
	found []string
}

func (p *persistenceRecorder) Unpersisted(server, detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.found = append(p.found, server+" "+detail)
}

// TestPersistence: New tells a server that keeps nothing on disk from one that keeps an
// AOF, reports the first to a PersistenceObserver, and refuses it under
// WithRequirePersistence; a server whose persistence cannot be read counts as none.
func TestPersistence(t *testing.T) {
	t.Parallel()
	bare := redistest.Start(t) // --save "" --appendonly no
	rec := &persistenceRecorder{}
	if _, err := dnc.New(bare.Client(t), dnc.WithObserver(rec)); err != nil {
		t.Fatalf("New with an observer = %v; want an Enforcer", err)
	}
	if len(rec.found) != 1 || !strings.Contains(rec.found[0], bare.Addr) || !strings.Contains(rec.found[0], "keeps nothing on disk") {
		t.Errorf("the observer was told %q; want the bare server", rec.found)
	}
	if _, err := dnc.New(bare.Client(t), dnc.WithRequirePersistence()); !errors.Is(err, dnc.ErrNotPersistent) {
		t.Errorf("New(bare server, WithRequirePersistence) = %v; want ErrNotPersistent", err)
	}

	aof := redistest.StartAOF(t)
	rec = &persistenceRecorder{}
	if _, err := dnc.New(aof.Client(t), dnc.WithRequirePersistence(), dnc.WithObserver(rec)); err != nil || len(rec.found) != 0 {
		t.Errorf("New(AOF server) = %v, observer told %q; want no complaint", err, rec.found)
	}

	mr := miniredis.RunT(t) // no CONFIG: unknown
	mc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = mc.Close() })
	if _, err := dnc.New(mc, dnc.WithRequirePersistence()); !errors.Is(err, dnc.ErrNotPersistent) {
		t.Errorf("New(server without CONFIG, WithRequirePersistence) = %v; want ErrNotPersistent", err)
	}
	if _, err := dnc.New(mc); err != nil {
		t.Errorf("New without the option = %v; it must not inspect", err)
	}

	// An unreachable server: New fails under the option, within its bound.
	bare.Stop()
	start := time.Now()
	if _, err := dnc.New(bare.Client(t), dnc.WithRequirePersistence()); !errors.Is(err, dnc.ErrNotPersistent) {
		t.Errorf("New(stopped server, WithRequirePersistence) = %v; want ErrNotPersistent", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("New on a stopped server took %v", took)
	}
}

// TestPersistenceCluster: every master of a cluster is inspected.
func TestPersistenceCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	rec := &persistenceRecorder{}
	if _, err := dnc.New(c.Client(t), dnc.WithObserver(rec)); err != nil {
		t.Fatal(err)
	}
	if len(rec.found) != 3 {
		t.Errorf("the observer was told of %d masters: %q; want 3", len(rec.found), rec.found)
	}
}

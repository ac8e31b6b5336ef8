package dnc_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
)

// replicaOf makes replica a replica of master and waits until the link is up.
func replicaOf(t *testing.T, master, replica *redistest.Server) {
	t.Helper()
	ctx := ctxT(t)
	host, port, _ := strings.Cut(master.Addr, ":")
	rc := replica.Client(t)
	if err := rc.SlaveOf(ctx, host, port).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := rc.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not connect: %v %s", err, info)
		}
	}
}

// TestWriteReplicas: with WithWriteReplicas every write waits for the replica; when the
// replica does not answer, the write is done and the error says it is not replicated.
func TestWriteReplicas(t *testing.T) {
	t.Parallel()
	master, replica := redistest.Start(t), redistest.Start(t)
	replicaOf(t, master, replica)
	ctx := ctxT(t)
	e := newEnforcer(t, master.Client(t), dnc.WithWriteReplicas(1, 2*time.Second))
	fromReplica := newEnforcer(t, replica.Client(t))

	if n, err := e.Add(ctx, "acme", "+14155552671", "+14155552672"); n != 2 || err != nil {
		t.Fatalf("Add = %d, %v", n, err)
	}
	en, err := e.AddEntry(ctx, "acme", "+14155552673", dnc.Meta{Type: "complaint"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetEnabled(ctx, "acme", true); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Remove(ctx, "acme", "+14155552672"); n != 1 || err != nil {
		t.Fatalf("Remove = %d, %v", n, err)
	}
	// What WAIT acknowledged is on the replica at once.
	mustSkip(t, fromReplica, "acme", "+14155552671", true)
	mustSkip(t, fromReplica, "acme", "+14155552673", true)
	mustSkip(t, fromReplica, "acme", "+14155552672", false)

	// Two replicas asked for, one there: done, and said so.
	two := newEnforcer(t, master.Client(t), dnc.WithWriteReplicas(2, 100*time.Millisecond))
	if n, err := two.Add(ctx, "acme", "+14155552674"); n != 1 || !errors.Is(err, dnc.ErrNotReplicated) {
		t.Errorf("Add with too few replicas = %d, %v; want 1 and ErrNotReplicated", n, err)
	}
	mustSkip(t, e, "acme", "+14155552674", true)

	// The replica stops answering: every write is done on the master, and not replicated.
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Resume() })
	short := newEnforcer(t, master.Client(t), dnc.WithWriteReplicas(1, 100*time.Millisecond))
	got, err := short.AddEntry(ctx, "acme", "+14155552675", dnc.Meta{Type: "complaint"})
	if got.ID == "" || !errors.Is(err, dnc.ErrNotReplicated) {
		t.Errorf("AddEntry with the replica paused = %+v, %v; want the entry and ErrNotReplicated", got, err)
	}
	if n, err := short.DeleteByID(ctx, "acme", en.ID); n != "+14155552673" || !errors.Is(err, dnc.ErrNotReplicated) {
		t.Errorf("DeleteByID with the replica paused = %q, %v; want the number and ErrNotReplicated", n, err)
	}
	if err := short.SetEnabled(ctx, "acme", false); !errors.Is(err, dnc.ErrNotReplicated) {
		t.Errorf("SetEnabled with the replica paused = %v; want ErrNotReplicated", err)
	}
	mustSkip(t, e, "acme", "+14155552675", false) // switched off: the write is done
	if on, err := e.Enabled(ctx, "acme"); on || err != nil {
		t.Errorf("Enabled = %v, %v; want false", on, err)
	}
	for _, bad := range []dnc.Option{dnc.WithWriteReplicas(0, time.Second), dnc.WithWriteReplicas(1, 0), dnc.WithWriteReplicas(1, time.Minute)} {
		if _, err := dnc.New(master.Client(t), bad); !errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("New with a bad WithWriteReplicas = %v; want ErrInvalidArgument", err)
		}
	}
}

// TestWriteReplicasCluster: on Redis Cluster, WAIT runs on the master that holds the org.
func TestWriteReplicasCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartClusterReplicas(t)
	rdb := c.Client(t)
	ctx := ctxT(t)
	e := newEnforcer(t, rdb, dnc.WithWriteReplicas(1, 2*time.Second))
	for _, org := range []string{"acme", "globex-eu", "initech"} {
		if n, err := e.Add(ctx, org, "+14155552671"); n != 1 || err != nil {
			t.Fatalf("Add(%s) = %d, %v", org, n, err)
		}
		if err := e.SetEnabled(ctx, org, true); err != nil {
			t.Fatalf("SetEnabled(%s) = %v", org, err)
		}
		mustSkip(t, e, org, "+14155552671", true)
	}
}

package dnc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
)

// TestFailClosedStoppedServer: with the server gone, every check answers skip.
func TestFailClosedStoppedServer(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	e := newEnforcer(t, rdb)
	ctx := ctxT(t)
	if _, err := e.Add(ctx, "acme", "+14155552671"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	for _, n := range []string{"+14155552671", "(415) 555-2672"} {
		d, err := e.Check(ctx, "acme", n)
		if !d.Skip || d.Reason != dnc.ReasonUnavailable || !errors.Is(err, dnc.ErrUnavailable) {
			t.Errorf("Check(%q) with the server stopped = %+v, %v; want skip, unavailable", n, d, err)
		}
	}
	if on, err := e.Enabled(ctx, "acme"); !on || err == nil {
		t.Errorf("Enabled with the server stopped = %v, %v; want true and an error", on, err)
	}
	open := newEnforcer(t, rdb, dnc.WithFailOpen())
	if skip, err := open.ShouldSkip(ctx, "acme", "+14155552671"); skip || !errors.Is(err, dnc.ErrUnavailable) {
		t.Errorf("fail-open ShouldSkip with the server stopped = %v, %v; want false and the error", skip, err)
	}
}

// TestFailClosedHungServer: a server that stops answering (SIGSTOP) must not hold a
// check past its context deadline, provided the client has ContextTimeoutEnabled (the
// README says so). The bound below is not a speed assertion: without
// ContextTimeoutEnabled the call waits for go-redis' 3 s read timeout, and with it, it
// returns at the 100 ms deadline; 1.5 s separates the two with room for a slow machine.
func TestFailClosedHungServer(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t) // ContextTimeoutEnabled: true
	e := newEnforcer(t, rdb)
	if _, err := e.Add(ctxT(t), "acme", "+14155552671"); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Resume() })
	for _, n := range []string{"+14155552671", "(415) 555-2672"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		d, err := e.Check(ctx, "acme", n)
		took := time.Since(start)
		cancel()
		if !d.Skip || d.Reason != dnc.ReasonUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Check(%q) on a hung server = %+v, %v; want skip, unavailable, DeadlineExceeded", n, d, err)
		}
		if took > 1500*time.Millisecond {
			t.Errorf("Check(%q) on a hung server returned after %v; want about the 100 ms deadline", n, took)
		}
	}
	// Once the server answers again, so does the enforcer.
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, "acme", "+14155552671", true)
}

// TestNewRejectsBadOptions: New's errors match ErrInvalidArgument and name the cause.
func TestNewRejectsBadOptions(t *testing.T) {
	rdb := miniBackend(t).client
	for name, opts := range map[string][]dnc.Option{
		"unknown region": {dnc.WithDefaultRegion("ZZ")},
		"braced prefix":  {dnc.WithKeyPrefix("a{b")},
		"empty prefix":   {dnc.WithKeyPrefix("")},
		"nil clock":      {dnc.WithClock(nil)},
	} {
		if _, err := dnc.New(rdb, opts...); !errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("New with %s = %v; want ErrInvalidArgument", name, err)
		}
	}
	if _, err := dnc.New(nil); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("New(nil) = %v; want ErrInvalidArgument", err)
	}
	if _, err := dnc.New(rdb, dnc.WithDefaultRegion("de")); err != nil {
		t.Errorf("New with region \"de\" = %v", err)
	}
}

// TestStateLost: a Redis that comes back empty (restarted without persistence, or
// flushed) must not turn listed numbers into "dial" for an Enforcer that had seen the
// org's data: checks skip with ErrStateLost until the operator accepts the new state.
func TestStateLost(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := ctxT(t)
	rec := &recorder{}
	e := newEnforcer(t, rdb, dnc.WithObserver(rec), dnc.WithFailOpen())
	if _, err := e.Add(ctx, "acme", "+14155552671"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, "acme", "+14155552671", true)
	mustSkip(t, e, "acme", "+14155552672", false)
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"+14155552671", "+14155552672"} {
		d, err := e.Check(ctx, "acme", n)
		if !d.Skip || d.Reason != dnc.ReasonUnavailable || !errors.Is(err, dnc.ErrStateLost) || !errors.Is(err, dnc.ErrUnavailable) {
			t.Errorf("Check(%s) after the data was lost = %+v, %v; want skip, ErrStateLost", n, d, err)
		}
	}
	ds, err := e.CheckMany(ctx, "acme", []string{"+14155552671", "(415) 555-2672"})
	if !errors.Is(err, dnc.ErrStateLost) || !ds[0].Skip || !ds[1].Skip {
		t.Errorf("CheckMany after the data was lost = %+v, %v; want skips and ErrStateLost", ds, err)
	}
	// New data under another epoch is not the data that was seen either.
	if _, err := e.Add(ctx, "acme", "+14155552673"); err != nil {
		t.Fatal(err)
	}
	if d, err := e.Check(ctx, "acme", "+14155552672"); !d.Skip || !errors.Is(err, dnc.ErrStateLost) {
		t.Errorf("Check after new data = %+v, %v; want skip, ErrStateLost", d, err)
	}
	if !rec.saw(dnc.ErrStateLost) {
		t.Error("the Observer was not told of ErrStateLost")
	}
	// Other orgs, and other Enforcers that never saw acme's data, are not affected.
	mustSkip(t, newEnforcer(t, rdb), "acme", "+14155552673", true)
	e.AcceptState("acme")
	mustSkip(t, e, "acme", "+14155552673", true)
	mustSkip(t, e, "acme", "+14155552672", false)
}

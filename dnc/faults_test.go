package dnc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Fault tests: a real Redis is killed, restarted or hung while eight goroutines check
// and list numbers through one Enforcer. They run only with DNC_FAULTS=1 (each takes
// seconds) and assert what must always hold: no listed number is ever answered "dial",
// every call returns within its deadline plus a margin, and the same Enforcer works
// again once Redis is back. They log the measured outage and recovery times.

const (
	callDeadline = 500 * time.Millisecond // each call's context deadline
	callMargin   = 2 * time.Second        // how much later a call may return on a busy machine
	workers      = 8
)

// load is the traffic of a fault test.
type load struct {
	enf    *dnc.Enforcer
	org    string
	listed []string // listed before the fault, and replicated: must always be skipped

	next atomic.Int64 // numbers listed during the test: newNumber(next)
	stop chan struct{}
	wg   sync.WaitGroup

	mu         sync.Mutex
	calls      int
	failures   int
	wrongDials []string
	late       []string
	maxTook    time.Duration
	firstFail  time.Time // when the first failed call returned
	lastFail   time.Time // when the last failed call returned
	added      []string  // numbers whose AddEntry succeeded
}

// newNumber returns the i-th number that the load lists; none is in l.listed.
func newNumber(i int64) string {
	areas := []int{312, 415, 646, 718, 917, 303, 305, 404}
	return fmt.Sprintf("+1%d555%04d", areas[i%int64(len(areas))], 1000+(i/int64(len(areas)))%9000)
}

// startLoad lists 100 numbers for a fresh org, lets sync (if not nil) make sure they
// are safe (replicated), and starts the workers; the test's cleanup stops them.
func startLoad(t *testing.T, enf *dnc.Enforcer, sync func(org string)) *load {
	t.Helper()
	l := &load{enf: enf, org: org(t), stop: make(chan struct{})}
	ctx := ctxT(t)
	for i := range 100 {
		n := fmt.Sprintf("+1212555%04d", 100+i)
		if _, err := enf.AddEntry(ctx, l.org, n, dnc.Meta{Type: "complaint"}); err != nil {
			t.Fatalf("list %s: %v", n, err)
		}
		l.listed = append(l.listed, n)
	}
	if sync != nil {
		sync(l.org)
	}
	for w := range workers {
		l.wg.Add(1)
		go l.work(t, w)
	}
	t.Cleanup(l.halt)
	return l
}

// halt stops the workers and waits for them. Calling it again does nothing.
func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// work checks a listed number, a number never listed, and every fourth round lists a
// new one, with a short pause per round, until l stops.
func (l *load) work(t *testing.T, w int) {
	defer l.wg.Done()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		listed := l.listed[(w*31+i)%len(l.listed)]
		l.call(t, "check listed "+listed, func(ctx context.Context) error {
			d, err := l.enf.Check(ctx, l.org, listed)
			if !d.Skip {
				l.mu.Lock()
				l.wrongDials = append(l.wrongDials, fmt.Sprintf("%s: %+v, %v", listed, d, err))
				l.mu.Unlock()
			}
			return err
		})
		l.call(t, "check unlisted", func(ctx context.Context) error {
			_, err := l.enf.Check(ctx, l.org, "+14155552671")
			return err
		})
		if i%4 == 0 {
			n := newNumber(l.next.Add(1))
			l.call(t, "add "+n, func(ctx context.Context) error {
				_, err := l.enf.AddEntry(ctx, l.org, n, dnc.Meta{Type: "complaint"})
				if err == nil {
					l.mu.Lock()
					l.added = append(l.added, n)
					l.mu.Unlock()
				}
				return err
			})
		}
	}
}

// call runs fn with a fresh deadline and records its outcome and time.
func (l *load) call(t *testing.T, what string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
	start := time.Now()
	err := fn(ctx)
	took := time.Since(start)
	cancel()
	if err != nil && !errors.Is(err, dnc.ErrUnavailable) {
		t.Errorf("%s: %v; want nil or ErrUnavailable", what, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.maxTook = max(l.maxTook, took)
	if took > callDeadline+callMargin {
		l.late = append(l.late, fmt.Sprintf("%s took %v", what, took))
	}
	if err != nil {
		l.failures++
		now := time.Now()
		if l.firstFail.IsZero() {
			l.firstFail = now
		}
		l.lastFail = now
	}
}

// waitRecovered returns when a check and a write through l's Enforcer both succeed,
// failing the test if that takes longer than within.
func (l *load) waitRecovered(t *testing.T, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := int64(0); ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
		d, err := l.enf.Check(ctx, l.org, l.listed[0])
		if err == nil {
			_, err = l.enf.AddEntry(ctx, l.org, newNumber(1_000_000+i), dnc.Meta{})
		}
		cancel()
		if err == nil && d.Reason == dnc.ReasonListed {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within %v: last check %+v, %v", within, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify stops the load, fails the test on any wrong dial or late call, then proves
// that the same Enforcer answers every check and write again, and returns how many
// numbers acknowledged as listed during the test are not listed now.
func (l *load) verify(t *testing.T) (lost int) {
	t.Helper()
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.wrongDials) > 0 {
		t.Errorf("%d wrong dial answers for listed numbers, first: %s", len(l.wrongDials), l.wrongDials[0])
	}
	if len(l.late) > 0 {
		t.Errorf("%d calls returned later than their deadline %v plus %v, first: %s", len(l.late), callDeadline, callMargin, l.late[0])
	}
	ctx := ctxT(t)
	for _, n := range l.listed {
		if d, err := l.enf.Check(ctx, l.org, n); err != nil || d.Reason != dnc.ReasonListed {
			t.Errorf("after recovery, Check(%s) = %+v, %v; want listed", n, d, err)
		}
	}
	for _, n := range l.added {
		d, err := l.enf.Check(ctx, l.org, n)
		if err != nil {
			t.Errorf("after recovery, Check(%s) = %v", n, err)
		} else if d.Reason != dnc.ReasonListed {
			lost++
		}
	}
	if _, err := l.enf.AddEntry(ctx, l.org, "+19175550000", dnc.Meta{}); err != nil && !errors.Is(err, dnc.ErrExists) {
		t.Errorf("after recovery, AddEntry: %v", err)
	}
	return lost
}

// rel says how long after ref t was, or before.
func rel(t, ref time.Time) string {
	d := t.Sub(ref).Round(time.Millisecond)
	if d < 0 {
		return fmt.Sprintf("%v before", -d)
	}
	return fmt.Sprintf("%v after", d)
}

func (l *load) stats() string {
	return fmt.Sprintf("%d calls, %d failed (fail closed), slowest %v, %d numbers listed during the test",
		l.calls, l.failures, l.maxTook.Round(time.Millisecond), len(l.added))
}

// Redis Cluster, three masters with a replica each: kill -9 the master of the org's
// slot under load. The cluster promotes the replica; the Enforcer (its healer) makes the
// client follow without being rebuilt.
func TestFaultClusterMasterKilled(t *testing.T) {
	redistest.Faults(t)
	cl := redistest.StartClusterReplicas(t)
	rdb := cl.Client(t)
	enf := newEnforcer(t, rdb)
	ctx := ctxT(t)
	var master *redistest.Server
	l := startLoad(t, enf, func(org string) {
		var err error
		if master, err = cl.MasterOf(ctx, "{"+org+"}"); err != nil {
			t.Fatal(err)
		}
		mc := redis.NewClient(&redis.Options{Addr: master.Addr})
		defer mc.Close()
		if n, err := mc.Wait(ctx, 1, 5000).Result(); err != nil || n != 1 {
			t.Fatalf("WAIT 1 on the org's master = %d, %v; want the replica in sync", n, err)
		}
	})
	time.Sleep(time.Second) // the load runs on a healthy cluster first

	killed := time.Now()
	master.Stop()
	if _, err := cl.WaitFailover(ctx, "{"+l.org+"}", master); err != nil {
		t.Fatal(err)
	}
	failedOver := time.Now()
	recovered := l.waitRecovered(t, 30*time.Second)
	time.Sleep(time.Second) // and the load runs on the healed cluster
	lost := l.verify(t)
	t.Logf("cluster failover %v after kill -9; the same Enforcer checked and wrote again %v after the failover "+
		"(%v after the kill); the last failed call returned %s the failover",
		failedOver.Sub(killed).Round(time.Millisecond), recovered.Sub(failedOver).Round(time.Millisecond),
		recovered.Sub(killed).Round(time.Millisecond), rel(l.lastFail, failedOver))
	t.Logf("%s; %d acknowledged adds lost in the failover (asynchronous replication)", l.stats(), lost)
}

// A standalone Redis with an fsynced append-only file, killed with kill -9 and
// restarted under load: calls fail closed while it is down, nothing acknowledged is
// lost, and the same Enforcer works again once it is back.
func TestFaultStandaloneKilledAndRestarted(t *testing.T) {
	redistest.Faults(t)
	s := redistest.StartAOF(t)
	enf := newEnforcer(t, s.Client(t))
	l := startLoad(t, enf, nil)
	time.Sleep(time.Second)

	killed := time.Now()
	s.Stop()
	time.Sleep(time.Second) // down for a second, as a crashed server is
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	recovered := l.waitRecovered(t, 10*time.Second)
	time.Sleep(time.Second)
	if lost := l.verify(t); lost > 0 {
		t.Errorf("%d acknowledged adds lost across kill -9 with appendfsync always", lost)
	}
	t.Logf("down %v; the same Enforcer checked and wrote again %v after the restart; the last failed call returned %s it",
		restarted.Sub(killed).Round(time.Millisecond), recovered.Sub(restarted).Round(time.Millisecond),
		rel(l.lastFail, restarted))
	t.Logf("%s", l.stats())
}

// A standalone Redis hung with SIGSTOP for two seconds under load: every call returns
// within its deadline plus a margin (skip: fail closed), and once SIGCONT resumes it
// the same Enforcer works again.
func TestFaultStandaloneHung(t *testing.T) {
	redistest.Faults(t)
	s := redistest.Start(t)
	enf := newEnforcer(t, s.Client(t))
	l := startLoad(t, enf, nil)
	time.Sleep(time.Second)

	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	time.Sleep(2 * time.Second)
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	recovered := l.waitRecovered(t, 10*time.Second)
	time.Sleep(time.Second)
	lost := l.verify(t)
	t.Logf("hung %v; the same Enforcer checked and wrote again %v after SIGCONT; the last failed call returned %s it",
		resumed.Sub(paused).Round(time.Millisecond), recovered.Sub(resumed).Round(time.Millisecond),
		rel(l.lastFail, resumed))
	t.Logf("%s; %d acknowledged adds not listed afterwards", l.stats(), lost)
	if lost > 0 {
		t.Errorf("%d acknowledged adds lost while Redis hung", lost)
	}
}

// A standalone Redis without persistence, killed and restarted under load, comes back
// empty: the Enforcer that had seen the org's data answers every check of the org skip
// with ErrStateLost (0 wrong dials), and once the list is restored and the operator
// accepts the state, it answers from the list again.
func TestFaultRestartLosesData(t *testing.T) {
	redistest.Faults(t)
	s := redistest.Start(t) // --save "" --appendonly no
	enf := newEnforcer(t, s.Client(t))
	l := startLoad(t, enf, nil)
	time.Sleep(time.Second)

	s.Stop()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	time.Sleep(time.Second) // the workers keep checking the listed numbers of an empty Redis
	ctx := ctxT(t)
	d, err := enf.Check(ctx, l.org, l.listed[0])
	if !d.Skip || !errors.Is(err, dnc.ErrStateLost) {
		t.Errorf("Check of a listed number after the data was lost = %+v, %v; want skip, ErrStateLost", d, err)
	}
	l.halt()
	// The operator restores the list and accepts the new state.
	if _, err := enf.Add(ctx, l.org, l.listed...); err != nil {
		t.Fatal(err)
	}
	enf.AcceptState(l.org)
	mustSkip(t, enf, l.org, l.listed[1], true)
	mustSkip(t, enf, l.org, "+14155552671", false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.wrongDials) > 0 {
		t.Errorf("%d wrong dials, first %s", len(l.wrongDials), l.wrongDials[0])
	}
	t.Logf("restarted empty; every check after it failed closed with ErrStateLost (%v after the restart, %s)",
		time.Since(restarted).Round(time.Millisecond), l.stats())
}

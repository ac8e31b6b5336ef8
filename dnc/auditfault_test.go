package dnc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/store"
)

// TestAuditAtomicUnderConnectionKills: while another client kills the writers'
// connections every millisecond or two (CLIENT KILL), writers add and remove numbers
// and add rules one at a time. Many calls fail, some after Redis ran them. Afterwards,
// for every number and rule, the change and its audit event landed together or not
// at all: a number is listed exactly when its add events outnumber its remove events,
// and a rule is there exactly when it has a rule_add event.
func TestAuditAtomicUnderConnectionKills(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	e := newEnforcer(t, rdb)
	o, ctx := org(t), ctxT(t)
	killer := srv.Client(t)
	stop := make(chan struct{})
	var killed sync.WaitGroup
	killed.Add(1)
	go func() {
		defer killed.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(500+i%3*500) * time.Microsecond):
			}
			_ = killer.Do(ctx, "client", "kill", "type", "normal", "skipme", "yes").Err()
		}
	}()
	const writers, each = 4, 150
	var failed sync.Map
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := fmt.Sprintf("+1415%03d%04d", 200+w, i)
				actx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if _, err := e.Add(actx, o, n); err != nil {
					failed.Store("add "+n, err)
				}
				if i%2 == 0 {
					if _, err := e.Remove(actx, o, n); err != nil {
						failed.Store("remove "+n, err)
					}
				}
				if i%6 == 0 {
					if err := e.AddRule(actx, o, fmt.Sprintf("+1212%d%02d", 5+w, i/6)); err != nil {
						failed.Store("rule "+n, err)
					}
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	close(stop)
	killed.Wait()
	nfailed := 0
	failed.Range(func(_, _ any) bool { nfailed++; return true })
	t.Logf("%d of about %d writes failed while connections were killed", nfailed, writers*each*5/3)
	if nfailed == 0 {
		t.Fatal("no write failed: the connections were not killed in time to test anything")
	}

	msgs, err := rdb.XRange(ctx, store.Base(store.DefaultPrefix, o)+"audit", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	net, rules := map[string]int{}, map[string]bool{}
	for _, m := range msgs {
		d, _ := m.Values["d"].(string)
		switch m.Values["a"] {
		case dnc.ActionAdd:
			net[d]++
		case dnc.ActionRemove:
			net[d]--
		case dnc.ActionRuleAdd:
			rules[d] = true
		default:
			t.Errorf("unexpected event %v", m.Values)
		}
	}
	checked := 0
	for w := range writers {
		for i := range each {
			n := fmt.Sprintf("+1415%03d%04d", 200+w, i)
			_, err := e.Entry(ctx, o, n)
			listed := err == nil
			if err != nil && !errors.Is(err, dnc.ErrNotFound) {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[listed]; net[n] != want {
				t.Errorf("%s: listed %v, but add events minus remove events = %d", n, listed, net[n])
			}
			checked++
		}
	}
	got, err := e.Rules(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if !rules[r] {
			t.Errorf("rule %s is there without its event", r)
		}
		delete(rules, r)
	}
	for r := range rules {
		t.Errorf("rule %s has an event but is not there", r)
	}
	// Every rule whose call failed is added again, as a caller retries; then every rule
	// blocks, for this Enforcer and for a new one. (Neither has read the rules before, so
	// this does not prove that a retry completes a walk cut short: TestRulesStamped in
	// package store does.)
	fresh := newEnforcer(t, rdb)
	for w := range writers {
		for i := 0; i < each; i += 6 {
			rule := fmt.Sprintf("+1212%d%02d", 5+w, i/6)
			if _, failedOnce := failed.Load("rule " + fmt.Sprintf("+1415%03d%04d", 200+w, i)); failedOnce {
				if err := e.AddRule(ctx, o, rule); err != nil {
					t.Fatal(err)
				}
			}
			for _, en := range []*dnc.Enforcer{e, fresh} {
				if d, err := en.Check(ctx, o, rule+"5555"); err != nil || d.Reason != dnc.ReasonRule || d.Rule != rule {
					t.Errorf("Check under rule %s = %+v, %v", rule, d, err)
				}
			}
		}
	}
	t.Logf("%d numbers and %d rules checked against %d events", checked, len(got), len(msgs))
}

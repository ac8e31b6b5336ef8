package dnc

import (
	"fmt"
	"sync"
)

// epochs remembers, for the orgs this Enforcer has checked, the epoch of their data in
// Redis: a random marker that an org's first write sets and that lasts as long as its
// data. A check that finds an org's data gone (no epoch) or replaced (another epoch)
// after it has seen it answers skip with ErrStateLost: a Redis restart without
// persistence, a flush or a failover to an empty replica must not turn every listed
// number into "dial". It holds at most maxEpochs orgs; past that it forgets one
// (whose loss then goes unnoticed until it is seen again).
type epochs struct {
	mu   sync.RWMutex
	seen map[string]string
}

const maxEpochs = 1 << 17

// observe records epoch for org, or returns an error wrapping ErrUnavailable and
// ErrStateLost when org's data had another epoch before.
func (s *epochs) observe(org, epoch string) error {
	s.mu.RLock()
	was, ok := s.seen[org]
	s.mu.RUnlock()
	if ok && was == epoch {
		return nil // the usual case, under the read lock only: checks run in parallel
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was, ok = s.seen[org]
	switch {
	case ok && was != epoch && was != "":
		if epoch == "" {
			return fmt.Errorf("%w: %w: org %q had data (epoch %s) and has none now", ErrUnavailable, ErrStateLost, org, was)
		}
		return fmt.Errorf("%w: %w: org %q had data of epoch %s and now holds epoch %s", ErrUnavailable, ErrStateLost, org, was, epoch)
	case ok && was == epoch:
		return nil
	}
	if s.seen == nil {
		s.seen = make(map[string]string)
	}
	if len(s.seen) >= maxEpochs {
		for k := range s.seen {
			delete(s.seen, k)
			break
		}
	}
	s.seen[org] = epoch
	return nil
}

// forget drops what is remembered of org.
func (s *epochs) forget(org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, org)
}

// AcceptState makes the Enforcer take org's data in Redis as it is now: after
// ErrStateLost, once an operator has restored the org's list (or decided to start it
// anew), checks answer again from the data they find. It does not contact Redis.
func (e *Enforcer) AcceptState(org string) { e.epochs.forget(org) }

package dnc

import (
	"context"
	"fmt"
	"time"

	"github.com/dncguard/dncguard/phone"
	"github.com/dncguard/dncguard/store"
	"github.com/redis/go-redis/v9"
)

// Reason says why a Decision came out as it did.
type Reason string

const (
	ReasonListed        Reason = "listed"         // enabled, and the number is on the org's list: skip
	ReasonRule          Reason = "rule"           // enabled, the number is not listed, and one of the org's rules matches it: skip
	ReasonNotListed     Reason = "not_listed"     // enabled, and the number is not on the list: dial
	ReasonDisabled      Reason = "disabled"       // DNC is switched off for the org: dial
	ReasonInvalidNumber Reason = "invalid_number" // the number is not a valid phone number: skip
	ReasonInvalidOrg    Reason = "invalid_org"    // the org id is invalid: skip
	ReasonUnavailable   Reason = "unavailable"    // storage failed or the context ended: skip (dial under WithFailOpen)
)

// Decision is the answer to "may this org dial this number now?".
type Decision struct {
	Skip   bool   // true: do not dial
	Reason Reason // why
	Number string // the number in E.164, or "" when it could not be normalized
	Entry  *Entry // for ReasonListed from Check: the entry that matched (the number alone if its stored metadata is unreadable); else nil
	Rule   string // for ReasonRule, and ReasonListed when a rule matches too: the longest of the org's rules that the number begins with ("+1201"); else ""
}

// Entry is one listed number and what is known of it.
type Entry struct {
	ID          string    // opaque and stable for the life of the entry: 24 lower-case hex digits
	Number      string    // E.164
	Type        string    // classification, e.g. "customer_request"; may be empty
	BatchID     string    // the campaign or batch the opt-out came from; may be empty
	RequestUUID string    // the call or request that produced the opt-out; may be empty
	CreatedAt   time.Time // when it was listed, to the millisecond, UTC
	ExpiresAt   time.Time // when it stops blocking, by the Redis server's clock, to the second, UTC; zero: never
}

func fromStore(e store.Entry) Entry {
	return Entry{ID: e.ID, Number: e.Number, Type: e.Type, BatchID: e.BatchID, RequestUUID: e.RequestUUID, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt}
}

// Observer is told of every decision, for metrics and logs. Its method must be safe for
// concurrent use and quick: it runs on the caller's goroutine before the check returns.
type Observer interface {
	// Decided reports one decision for org, the error returned with it, and how long the
	// check took (for CheckMany: the whole batch's time divided by its size).
	Decided(org string, d Decision, took time.Duration, err error)
}

// Enforcer answers DNC checks and manages orgs' switches and lists, in Redis.
// Create one with New and share it; it is safe for concurrent use.
type Enforcer struct {
	st  *store.Store
	cfg config

	heal   *healer // nil unless rdb is a *redis.ClusterClient; see cluster.go
	epochs epochs  // the data epoch of each org checked; see statelost.go
}

// New returns an Enforcer that keeps its state in rdb: a *redis.Client,
// *redis.ClusterClient (Redis Cluster), failover client (Sentinel) or *redis.Ring.
// It fails on an invalid option, such as an unknown region, and warms the phone number
// metadata of the default region so the first check is not slow. It does not contact
// Redis, unless WithRequirePersistence is given or the Observer is a
// PersistenceObserver: then it inspects every master's persistence, for at most 3 s,
// and fails (ErrNotPersistent) or reports a server that would lose the lists on a
// restart. On a *redis.ClusterClient it adds a hook that has the client reload its slot
// map after a connection failure (at most every 250 ms), so that checks and writes
// reach a promoted replica as soon as the cluster has failed over.
func New(rdb redis.UniversalClient, opts ...Option) (*Enforcer, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidArgument)
	}
	cfg := config{region: "US", prefix: store.DefaultPrefix, defaultEnabled: true, now: time.Now,
		minRetention: map[string]time.Duration{"customer_request": DefaultRetention}, auditAge: store.DefaultAuditRetention}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	region, err := phone.Region(cfg.region)
	if err != nil {
		return nil, fmt.Errorf("%w: default region: %w", ErrInvalidArgument, err)
	}
	cfg.region = region
	if err := phone.Warm(region); err != nil {
		return nil, err
	}
	if err := checkReplicas(rdb, cfg); err != nil {
		return nil, err
	}
	if err := checkPersistence(rdb, cfg); err != nil {
		return nil, err
	}
	st := store.New(rdb, cfg.prefix)
	if cfg.replicas > 0 {
		st.SetReplicas(cfg.replicas, cfg.replicaTimeout)
	}
	st.SetAudit(cfg.auditAge, cfg.auditMaxLen)
	return &Enforcer{st: st, cfg: cfg, heal: newHealer(rdb)}, nil
}

// Region returns the default region, upper-case.
func (e *Enforcer) Region() string { return e.cfg.region }

// SetEnabled switches DNC enforcement on or off for org. On failure it returns the error
// (ErrInvalidOrg, or ErrUnavailable wrapping the cause) and the switch is unchanged.
func (e *Enforcer) SetEnabled(ctx context.Context, org string, enabled bool) error {
	if err := validOrg(org); err != nil {
		return err
	}
	if err := validActor(ctx); err != nil {
		return err
	}
	if err := e.st.SetEnabled(ctx, org, enabled); err != nil {
		return unavailable(ctx, "set enabled", err)
	}
	return nil
}

// Enabled reports whether DNC is enforced for org: what SetEnabled last set, or the
// default (true unless WithDefaultEnabled says otherwise) for an org that never set it.
// On failure it returns true and the error.
func (e *Enforcer) Enabled(ctx context.Context, org string) (bool, error) {
	if err := validOrg(org); err != nil {
		return true, err
	}
	on, err := e.st.Enabled(ctx, org, e.cfg.defaultEnabled)
	if err != nil {
		return true, unavailable(ctx, "enabled", err)
	}
	return on, nil
}

// ShouldSkip reports whether the dialer must not call number for org. It is shorthand
// for Check(ctx, org, number) returning only Decision.Skip.
//
//   - number is not a valid phone number: true and a *NumberError (ErrInvalidNumber);
//     Redis is not touched.
//   - org is not a valid org id: true and ErrInvalidOrg.
//   - DNC is switched off for org: false, nil.
//   - DNC is on and number is listed for org (and its entry has not expired by the
//     Redis server's clock): true, nil.
//   - DNC is on, number is not listed, and one of org's rules matches it: true, nil.
//   - DNC is on, number is not listed, and no rule matches it: false, nil.
//   - Redis fails or ctx ends: true and ErrUnavailable wrapping the cause (false and the
//     error under WithFailOpen).
func (e *Enforcer) ShouldSkip(ctx context.Context, org, number string) (bool, error) {
	d, err := e.Check(ctx, org, number)
	return d.Skip, err
}

// Check decides whether org may dial number now and says why; see ShouldSkip for the
// rules. It normalizes number in the default region, then reads the org's switch, list,
// rules and the server's clock in one Redis round trip (one pipeline).
func (e *Enforcer) Check(ctx context.Context, org, number string) (Decision, error) {
	if e.cfg.observer == nil {
		return e.check(ctx, org, number)
	}
	start := time.Now()
	d, err := e.check(ctx, org, number)
	e.cfg.observer.Decided(org, d, time.Since(start), err)
	return d, err
}

func (e *Enforcer) check(ctx context.Context, org, number string) (Decision, error) {
	if err := validOrg(org); err != nil {
		return Decision{Skip: true, Reason: ReasonInvalidOrg}, err
	}
	n, err := phone.Normalize(number, e.cfg.region)
	if err != nil {
		return Decision{Skip: true, Reason: ReasonInvalidNumber}, &NumberError{Input: number, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return e.unavailable(n), unavailable(ctx, "check", err)
	}
	r, err := e.st.Lookup(ctx, org, n, e.cfg.defaultEnabled)
	if err != nil {
		return e.unavailable(n), unavailable(ctx, "check", err)
	}
	if err := e.epochs.observe(org, r.Epoch); err != nil {
		return Decision{Skip: true, Reason: ReasonUnavailable, Number: n}, err
	}
	d := decide(n, r.State, r.Rule)
	if d.Reason == ReasonListed {
		listed := fromStore(r.Entry) // a copy, so that only this branch allocates
		d.Entry = &listed
	}
	return d, nil
}

// decide is the one mapping of the store's answer for a number to a Decision, for
// Check and CheckMany alike.
func decide(number string, st store.State, rule string) Decision {
	switch st {
	case store.Disabled:
		return Decision{Reason: ReasonDisabled, Number: number}
	case store.NotListed:
		return Decision{Reason: ReasonNotListed, Number: number}
	case store.Ruled:
		return Decision{Skip: true, Reason: ReasonRule, Number: number, Rule: rule}
	default:
		return Decision{Skip: true, Reason: ReasonListed, Number: number, Rule: rule}
	}
}

func (e *Enforcer) unavailable(number string) Decision {
	return Decision{Skip: !e.cfg.failOpen, Reason: ReasonUnavailable, Number: number}
}

// CheckMany decides for each of numbers, in order, as Check would, in one Redis round
// trip for the whole batch (it reads each bucket the numbers fall in once, pipelined:
// with HMGET of its few numbers, or by its field names when it holds many of them). Invalid numbers get ReasonInvalidNumber and do not stop the
// others; the returned error is then the first *NumberError. When the org id is
// invalid, Redis fails or ctx ends, every decision says so. Decisions carry no Entry.
func (e *Enforcer) CheckMany(ctx context.Context, org string, numbers []string) ([]Decision, error) {
	return e.observeMany(ctx, org, e.cfg.region, numbers)
}

// CheckManyIn is CheckMany reading numbers written without a country code in the
// national format of region (ISO 3166-1 alpha-2, any case) instead of the default
// region. Numbers with a country code ("+44 20 7946 0958") read the same in every
// region. An unknown region is an error wrapping ErrInvalidArgument and
// phone.ErrUnknownRegion; then every decision is Skip with ReasonInvalidNumber, Redis
// is not touched and the Observer is told nothing.
func (e *Enforcer) CheckManyIn(ctx context.Context, org, region string, numbers []string) ([]Decision, error) {
	rc, err := phone.Region(region)
	if err != nil {
		ds := make([]Decision, len(numbers))
		for i := range ds {
			ds[i] = Decision{Skip: true, Reason: ReasonInvalidNumber}
		}
		return ds, fmt.Errorf("%w: region: %w", ErrInvalidArgument, err)
	}
	return e.observeMany(ctx, org, rc, numbers)
}

// observeMany is checkMany, reported to the Observer.
func (e *Enforcer) observeMany(ctx context.Context, org, region string, numbers []string) ([]Decision, error) {
	if e.cfg.observer == nil {
		return e.checkMany(ctx, org, region, numbers, nil)
	}
	start := time.Now()
	errs := make([]error, len(numbers))
	ds, err := e.checkMany(ctx, org, region, numbers, errs)
	if len(ds) > 0 {
		took := time.Since(start) / time.Duration(len(ds))
		for i, d := range ds {
			e.cfg.observer.Decided(org, d, took, errs[i])
		}
	}
	return ds, err
}

// checkMany decides for each number; when errs is not nil (len(numbers) long) it also
// sets errs[i] to the error of decision i (nil for listed, not listed and disabled).
func (e *Enforcer) checkMany(ctx context.Context, org, region string, numbers []string, errs []error) ([]Decision, error) {
	setErr := func(i int, err error) {
		if errs != nil {
			errs[i] = err
		}
	}
	ds := make([]Decision, len(numbers))
	if err := validOrg(org); err != nil {
		for i := range ds {
			ds[i] = Decision{Skip: true, Reason: ReasonInvalidOrg}
			setErr(i, err)
		}
		return ds, err
	}
	b := normalizeBatch(numbers, region, ds, setErr) // on all cores for a large batch
	valid, at, firstErr := b.valid, b.at, b.firstErr
	if len(valid) == 0 {
		return ds, firstErr
	}
	fail := func(cause error) ([]Decision, error) {
		err := unavailable(ctx, "check many", cause)
		for _, i := range at {
			ds[i] = e.unavailable(ds[i].Number)
			setErr(i, err)
		}
		return ds, err
	}
	failLost := func(err error) ([]Decision, error) { // skip even under WithFailOpen
		for _, i := range at {
			ds[i] = Decision{Skip: true, Reason: ReasonUnavailable, Number: ds[i].Number}
			setErr(i, err)
		}
		return ds, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	r, err := e.st.LookupMany(ctx, org, valid, e.cfg.defaultEnabled)
	if err != nil {
		return fail(err)
	}
	if err := e.epochs.observe(org, r.Epoch); err != nil {
		return failLost(err)
	}
	for j, i := range at {
		st, rule := store.Disabled, ""
		if r.Enabled {
			if r.Rule != nil {
				rule = r.Rule[j]
			}
			switch {
			case r.Listed[j]:
				st = store.Listed
			case rule != "":
				st = store.Ruled
			default:
				st = store.NotListed
			}
		}
		ds[i] = decide(ds[i].Number, st, rule)
	}
	return ds, firstErr
}

// ValidOrg returns nil if org is a valid org id, else an error wrapping ErrInvalidOrg
// that says why: 1 to 128 bytes of printable UTF-8, no white space, no "{" or "}" (they
// would break the Redis Cluster hash tag). It is the check every method that takes an
// org makes first; call it to reject an org id up front, when reading configuration
// for example.
func ValidOrg(org string) error { return validOrg(org) }

func validOrg(org string) error {
	if err := store.CheckOrg(org); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOrg, err)
	}
	return nil
}

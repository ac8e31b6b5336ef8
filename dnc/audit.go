package dnc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dncguard/dncguard/internal/clip"
	"github.com/dncguard/dncguard/store"
)

// Audit actions, the Action of an Event.
const (
	ActionEnable     = "enable"
	ActionDisable    = "disable"
	ActionAdd        = "add"
	ActionRemove     = "remove"
	ActionDelete     = "delete" // DeleteByID
	ActionImport     = "import"
	ActionPurge      = "purge"
	ActionRuleAdd    = "rule_add"
	ActionRuleRemove = "rule_remove"
)

var actions = []string{ActionEnable, ActionDisable, ActionAdd, ActionRemove, ActionDelete, ActionImport, ActionPurge, ActionRuleAdd, ActionRuleRemove}

// MaxActorLen is the longest actor WithActor may name, in bytes.
const MaxActorLen = 256

// WithActor returns ctx carrying actor ("alice@acme"): every change made with it (the
// switch, adds, removes, deletes, imports, purges, rules) is recorded in the org's
// audit log as made by actor. Without it the actor is "". An actor longer than
// MaxActorLen bytes, not valid UTF-8, or holding a control or bidirectional formatting
// character (as Meta.Validate) makes those calls fail with ErrInvalidArgument.
func WithActor(ctx context.Context, actor string) context.Context {
	return store.WithActor(ctx, actor)
}

// validActor checks the actor ctx carries.
func validActor(ctx context.Context) error {
	a := store.ActorFrom(ctx)
	if len(a) > MaxActorLen || !utf8.ValidString(a) {
		return fmt.Errorf("%w: actor: want valid UTF-8 of at most %d bytes", ErrInvalidArgument, MaxActorLen)
	}
	for i, r := range a {
		if forbidden(r) {
			return &MetaError{Field: "actor", Rune: r, At: i}
		}
	}
	return nil
}

// Event is one entry of an org's audit log.
type Event struct {
	ID     string    // the event's id in the log, unique within the org, ordered as the events
	Time   time.Time // when the change was made, by the Redis server's clock, to the millisecond, UTC
	Actor  string    // who made it (WithActor), or ""
	Action string    // one of the Action constants
	// Detail says what changed: the number ("+12125551234"), or for a write of many
	// numbers in one step (up to 32, or 16 with metadata; see Add) their count ("32
	// numbers"), with the batch id when they share one ("32 numbers batch spring-24");
	// for an import, which adds and removes, after "add " or "remove "; the rule for
	// rule_add and rule_remove; "" for enable and disable.
	Detail string
}

// HistoryOptions selects events of an org's audit log.
type HistoryOptions struct {
	Since time.Time // only events at or after Since; zero: from the oldest kept
	Until time.Time // only events before Until; zero: up to the newest
	// Before, an Event.ID, keeps only the events older than that one: pass the last
	// event of a page to read the next page (many events can share a millisecond, so
	// Until alone cannot page through them).
	Before  string
	Limit   int      // at most this many, 1 to MaxHistory; 0: 100
	Actions []string // only these actions; empty: all
}

// MaxHistory is the most events one History call returns.
const MaxHistory = 1000

// History returns org's audit events, newest first, as o selects. "When was DNC
// disabled for org X, by whom, and when re-enabled?" is
// History(ctx, "X", HistoryOptions{Actions: []string{ActionEnable, ActionDisable}}).
// Filtering by action reads the log in pages until Limit events match or the range is
// read, so a rare action over a long range reads many events.
func (e *Enforcer) History(ctx context.Context, org string, o HistoryOptions) ([]Event, error) {
	if err := validOrg(org); err != nil {
		return nil, err
	}
	if o.Limit == 0 {
		o.Limit = 100
	}
	if o.Limit < 1 || o.Limit > MaxHistory {
		return nil, fmt.Errorf("%w: history limit %d, want 1 to %d", ErrInvalidArgument, o.Limit, MaxHistory)
	}
	want := map[string]bool{}
	for _, a := range o.Actions {
		known := false
		for _, k := range actions {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("%w: history action %s, want one of %v", ErrInvalidArgument, clip.Quote(a), actions)
		}
		want[a] = true
	}
	start, end, none, err := historyRange(o)
	if err != nil {
		return nil, err
	}
	if none {
		return []Event{}, nil
	}
	out := []Event{}
	page := int64(o.Limit)
	if len(want) > 0 {
		page = MaxHistory
	}
	for {
		evs, err := e.st.History(ctx, org, end, start, page)
		if err != nil {
			return nil, unavailable(ctx, "history", err)
		}
		for _, ev := range evs {
			if len(want) == 0 || want[ev.Action] {
				out = append(out, Event{ID: ev.ID, Time: ev.Time, Actor: ev.Actor, Action: ev.Action, Detail: ev.Detail})
				if len(out) == o.Limit {
					return out, nil
				}
			}
		}
		if int64(len(evs)) < page {
			return out, nil
		}
		end = "(" + evs[len(evs)-1].ID
	}
}

// historyRange returns the stream ids that o's Since, Until and Before bound the events
// by, as XREVRANGE takes them ("-" and "+" for none; "(" before an id excludes it), or
// none when no event can lie between them.
func historyRange(o HistoryOptions) (start, end string, none bool, err error) {
	start, end = "-", "+"
	last := int64(-1) // the last millisecond Until lets in, if it bounds
	if !o.Since.IsZero() {
		start = strconv.FormatInt(max(ceilMilli(o.Since), 0), 10)
	}
	if !o.Until.IsZero() {
		last = ceilMilli(o.Until) - 1 // the events of that millisecond, any sequence number, are before Until
		if last < 0 || (!o.Since.IsZero() && !o.Until.After(o.Since)) {
			return "", "", true, nil
		}
		end = strconv.FormatInt(last, 10)
	}
	if o.Before != "" {
		ms, seq, ok := strings.Cut(o.Before, "-")
		b, err1 := strconv.ParseInt(ms, 10, 64)
		n, err2 := strconv.ParseUint(seq, 10, 64)
		if !ok || err1 != nil || err2 != nil || b < 0 {
			return "", "", false, fmt.Errorf("%w: history before %s: not an event id", ErrInvalidArgument, clip.Quote(o.Before))
		}
		if b == 0 && n == 0 {
			return "", "", true, nil // nothing comes before the first id (and Redis refuses "(0-0")
		}
		if last < 0 || b <= last { // else Until bounds the events more tightly
			end = "(" + o.Before
		}
	}
	return start, end, false, nil
}

// ceilMilli is t in Unix milliseconds, rounded up.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// Purge removes org's entries that have expired by the Redis server's clock, and
// returns how many. They leave the list, the count and the listing. It works through
// the list in read-only scripts of 32 buckets (about 750 numbers) and removes what
// they find in write scripts of at most 16 numbers, each of which checks the expiry
// again, so Redis is never held long; each removal is in the audit log as "purge".
// Expired entries block nothing even before they are purged.
func (e *Enforcer) Purge(ctx context.Context, org string) (int, error) {
	if err := validOrg(org); err != nil {
		return 0, err
	}
	if err := validActor(ctx); err != nil {
		return 0, err
	}
	n, err := e.st.Purge(ctx, org)
	if err != nil {
		return n, unavailable(ctx, "purge", err)
	}
	return n, nil
}

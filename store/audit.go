package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The audit log: every script that changes an org's state (add, remove, delete by id,
// the switch, rules, purge) appends one event to the org's stream <base>audit in the
// same script, so a change and its event land together or not at all. An event holds
// the action, the actor (WithActor) and a detail: a number, a rule, or for a script of
// many numbers their count and shared batch id. Its stream id is the server's clock in
// milliseconds. Each append trims events older than the retention, and the oldest
// beyond the longest length, a stream node (about 100 events) at a time.

// DefaultAuditRetention is how long audit events are kept unless SetAudit says
// otherwise: five years.
const DefaultAuditRetention = 5 * 365 * 24 * time.Hour

// auditArgs is how many arguments audit appends to a write script's.
const auditArgs = 4

type ctxKey int

const (
	actorKey ctxKey = iota
	actionKey
)

// WithActor returns ctx carrying actor: who the writes made with it are recorded as
// made by in the audit log.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey, actor)
}

// ActorFrom returns the actor ctx carries, or "".
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey).(string)
	return a
}

// WithAction returns ctx under which adds and removes are recorded as action (an import
// says "import") instead of "add" and "remove".
func WithAction(ctx context.Context, action string) context.Context {
	return context.WithValue(ctx, actionKey, action)
}

// SetAudit sets the audit log's retention (0: no bound by age) and longest length (0:
// no bound). Set it before the Store is used.
func (s *Store) SetAudit(retention time.Duration, maxLen int64) {
	s.auditAge, s.auditMaxLen = retention.Milliseconds(), maxLen
}

// audit appends to a write script's arguments those of its audit event.
func (s *Store) audit(ctx context.Context, action string, args []any) []any {
	if a, ok := ctx.Value(actionKey).(string); ok && a != "" && (action == "add" || action == "remove") {
		action = a
	}
	return append(args, action, ActorFrom(ctx), s.auditAge, s.auditMaxLen)
}

// Event is one entry of an org's audit log.
type Event struct {
	ID     string    // its stream id: the server's time in ms, "-", a sequence number
	Time   time.Time // the server's clock when it was written, ms precision, UTC
	Actor  string
	Action string
	Detail string
}

// auditKey is the org's audit stream.
func auditKey(prefix, org string) string { return Base(prefix, org) + "audit" }

// History returns at most count of org's audit events, newest first, whose ids lie
// between start and end (stream ids, "-" and "+" for no bound; "(" before an id
// excludes it): XREVRANGE.
func (s *Store) History(ctx context.Context, org, end, start string, count int64) ([]Event, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, auditKey(s.prefix, org), end, start, count).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		ms, _, ok := strings.Cut(m.ID, "-")
		t, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return out, fmt.Errorf("%w: audit event id %q", ErrBadReply, m.ID)
		}
		ev := Event{ID: m.ID, Time: time.UnixMilli(t).UTC()}
		var ok1, ok2, ok3 bool
		ev.Action, ok1 = m.Values["a"].(string)
		ev.Actor, ok2 = m.Values["u"].(string)
		ev.Detail, ok3 = m.Values["d"].(string)
		if !ok1 || !ok2 || !ok3 {
			return out, fmt.Errorf("%w: audit event %s: fields %v", ErrBadReply, m.ID, m.Values)
		}
		out = append(out, ev)
	}
	return out, nil
}

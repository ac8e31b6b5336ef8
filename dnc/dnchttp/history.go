package dnchttp

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/clip"
)

// eventJSON is an event of the audit log as the API shows it.
type eventJSON struct {
	ID     string `json:"id"`
	Time   string `json:"time"` // ISO 8601 UTC, in ms (ISOMillis)
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Detail string `json:"detail"`
}

type historyData struct {
	Events []eventJSON `json:"events"`
	Limit  int         `json:"limit"` // the limit applied, after capping at MaxHistoryLimit
}

// history serves GET /api/dnc/history?since=&until=&before=&limit=&actions=: the
// org's audit events, newest first. since and until are RFC 3339 timestamps (since
// inclusive, until exclusive), before an event's id (the events older than it: the
// last id of a page gives the next page), limit 1 or more (default
// DefaultHistoryLimit, capped at MaxHistoryLimit as list's limit is), actions a
// comma-separated list of actions.
func (h *Handler) history(r *http.Request, org string, _ []byte) (reply, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil { // r.URL.Query() would drop the malformed pair and go on
		return reply{}, badRequest(fmt.Sprintf("malformed query string: %v", err))
	}
	var o dnc.HistoryOptions
	if o.Since, err = timeParam(q, "since"); err != nil {
		return reply{}, err
	}
	if o.Until, err = timeParam(q, "until"); err != nil {
		return reply{}, err
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return reply{}, badRequest("until must be later than since")
	}
	if o.Before, err = oneParam(q, "before"); err != nil {
		return reply{}, err
	}
	if _, given := q["before"]; given && o.Before == "" {
		return reply{}, badRequest("before must be an event's id, such as \"1764500000000-0\"")
	}
	limit, err := positiveParam(q, "limit", DefaultHistoryLimit)
	if err != nil {
		return reply{}, err
	}
	o.Limit = int(min(limit, MaxHistoryLimit))
	if o.Actions, err = actionsParam(q); err != nil {
		return reply{}, err
	}
	evs, err := h.enf.History(r.Context(), org, o)
	if errors.Is(err, dnc.ErrInvalidArgument) {
		// An unknown action (the library's message names it and the known ones), or a
		// before that is not an event id.
		return reply{}, badRequest(err.Error())
	}
	if err != nil {
		return reply{}, err
	}
	d := historyData{Events: make([]eventJSON, len(evs)), Limit: o.Limit}
	for i, e := range evs {
		d.Events[i] = eventJSON{ID: e.ID, Time: formatTime(e.Time), Actor: e.Actor, Action: e.Action, Detail: e.Detail}
	}
	return reply{message: MsgHistory, data: d}, nil
}

// timeParam returns the query parameter name as an RFC 3339 timestamp (parseTime), the
// zero time when absent. A "+" left unescaped in a URL query reads as a space, so a
// space where the offset's sign goes ("...T10:00:00 02:00") is read as the "+" it was.
func timeParam(q url.Values, name string) (time.Time, error) {
	s, err := oneParam(q, name)
	if err != nil {
		return time.Time{}, err
	}
	if _, given := q[name]; !given {
		return time.Time{}, nil
	}
	if n := len(s); n > len("T00:00 00:00") && s[n-6] == ' ' && s[n-3] == ':' {
		s = s[:n-6] + "+" + s[n-5:]
	}
	return parseTime(name, s)
}

// actionsParam returns the comma-separated actions of the query parameter actions, nil
// when absent. White space around each is dropped; an empty list or an empty item is
// 400. Which actions exist is the library's to say (History refuses an unknown one);
// an item longer than any action's name is refused here, so that no answer repeats more
// of it than clip.Quote does.
func actionsParam(q url.Values) ([]string, error) {
	s, err := oneParam(q, "actions")
	if err != nil {
		return nil, err
	}
	if _, given := q["actions"]; !given {
		return nil, nil
	}
	items := strings.Split(s, ",")
	for i, a := range items {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			return nil, badRequest(fmt.Sprintf("actions %s holds an empty action: want actions separated by commas, such as \"enable,disable\"", clip.Quote(s)))
		case len(a) > clip.MaxQuoted:
			return nil, badRequest(fmt.Sprintf("actions: unknown action %s", clip.Quote(a)))
		}
		items[i] = a
	}
	return items, nil
}

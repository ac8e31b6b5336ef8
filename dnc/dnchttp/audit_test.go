package dnchttp_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
)

func TestAddExpiresAt(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	add := func(body string) entry {
		t.Helper()
		r := f.do(t, "POST", "/api/dnc/add", tokA, body)
		data, _ := r.body["data"].(map[string]any)
		number, _ := data["phoneNumber"].(string)
		stored, err := f.enf.Entry(ctx, orgA, number)
		if err != nil {
			t.Fatalf("%s: status %d %s; Entry: %v", body, r.code, r.raw, err)
		}
		want := toEntry(orgA, stored)
		expect(t, body, r, 200, ok(t, dnchttp.MsgAdded, want))
		return want
	}
	// Rounded up to the second and shown in UTC, as stored; any offset, "t" and "z" in
	// lower case (RFC 3339 allows them).
	e := add(`{"phoneNumber": "12125551234", "type": "complaint", "expiresAt": "2040-01-02T03:04:05.5-05:00"}`)
	if e.ExpiresAt != "2040-01-02T08:04:06.000Z" {
		t.Errorf("expiresAt %q; want 2040-01-02T08:04:06.000Z", e.ExpiresAt)
	}
	if e := add(`{"phoneNumber": "12125551235", "expiresAt": "2041-06-30t23:59:59z"}`); e.ExpiresAt != "2041-06-30T23:59:59.000Z" {
		t.Errorf("expiresAt %q; want 2041-06-30T23:59:59.000Z", e.ExpiresAt)
	}
	// customer_request (any case) must be kept 5 years from its creation; then it may expire.
	if e := add(`{"phoneNumber": "12125551236", "type": "Customer_Request", "expiresAt": "2031-06-01T00:00:00+02:00"}`); e.ExpiresAt != "2031-05-31T22:00:00.000Z" {
		t.Errorf("expiresAt %q; want 2031-05-31T22:00:00.000Z", e.ExpiresAt)
	}
	// null or absent: never expires, and the entry has no expiresAt key.
	for i, body := range []string{`{"phoneNumber": "12125551237", "expiresAt": null}`, `{"phoneNumber": "12125551238"}`} {
		r := f.do(t, "POST", "/api/dnc/add", tokA, body)
		if _, has := r.body["data"].(map[string]any)["expiresAt"]; r.code != 200 || has {
			t.Errorf("add %d: status %d %s; want 200 without expiresAt", i, r.code, r.raw)
		}
	}
	// The list shows expiresAt of the entries that have one, and only of them.
	r := f.do(t, "GET", "/api/dnc/list?search=%2B1212555123", tokA, "")
	list, _ := r.body["data"].(map[string]any)["dncList"].([]any)
	got := map[string]any{}
	for _, it := range list {
		m := it.(map[string]any)
		got[m["phoneNumber"].(string)] = m["expiresAt"]
	}
	want := map[string]any{"+12125551234": "2040-01-02T08:04:06.000Z", "+12125551235": "2041-06-30T23:59:59.000Z",
		"+12125551236": "2031-05-31T22:00:00.000Z", "+12125551237": nil, "+12125551238": nil}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("list expiresAt by number = %v; want %v\n%s", got, want, r.raw)
	}

	// Added again, a number is "already exists", and its entry's life is never made
	// shorter than asked (dnc.Enforcer.AddEntry): a sooner expiry changes nothing, a
	// later one replaces it. (The one 400 that may change something: see the package
	// documentation.)
	before := f.dump(t)
	expect(t, "add again, sooner", f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "12125551234", "expiresAt": "2039-01-01T00:00:00Z"}`), 400,
		failed(400, dnchttp.MsgExists))
	f.unchanged(t, "add again, sooner", before)
	expect(t, "add again, later", f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "12125551234", "expiresAt": "2045-01-01T00:00:00Z"}`), 400,
		failed(400, dnchttp.MsgExists))
	if e, err := f.enf.Entry(ctx, orgA, "+12125551234"); err != nil || !e.ExpiresAt.Equal(time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("entry after add again, later = %+v, %v; want it to expire in 2045", e, err)
	}

	const example = `want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`
	long := strings.Repeat("2", 100)
	for _, tc := range []struct{ expires, msg string }{
		{`5`, "expiresAt must be a JSON string, got a number"},
		{`true`, "expiresAt must be a JSON string, got a boolean"},
		{`{"t": 1}`, "expiresAt must be a JSON string, got an object"},
		{`""`, `expiresAt "" is not an RFC 3339 timestamp: ` + example},
		{`"tomorrow"`, `expiresAt "tomorrow" is not an RFC 3339 timestamp: ` + example},
		{`"2040-01-02"`, `expiresAt "2040-01-02" is a date without a time of day: ` + example},
		{`"2040-01-02T03:04:05"`, `expiresAt "2040-01-02T03:04:05" has no time zone ("Z" for UTC, or an offset such as "+02:00"): ` + example},
		{`"2040-01-02 03:04"`, `expiresAt "2040-01-02 03:04" has no time zone ("Z" for UTC, or an offset such as "+02:00"): ` + example},
		{`"2040-01-02 03:04:05Z"`, `expiresAt "2040-01-02 03:04:05Z" is not an RFC 3339 timestamp: ` + example},
		{`"20400102T030405Z"`, `expiresAt "20400102T030405Z" is not an RFC 3339 timestamp: ` + example},
		{`"2040-01-02T3:04:05Z"`, `expiresAt "2040-01-02T3:04:05Z" is not an RFC 3339 timestamp: ` + example},
		{`"1893456000"`, `expiresAt "1893456000" is not an RFC 3339 timestamp: ` + example},
		{`" 2040-01-02T03:04:05Z"`, `expiresAt " 2040-01-02T03:04:05Z" is not an RFC 3339 timestamp: ` + example},
		{`"` + long + `"`, `expiresAt "` + long[:64] + `"... (100 bytes) is not an RFC 3339 timestamp: ` + example},
		{`"2040-13-02T03:04:05Z"`, `expiresAt "2040-13-02T03:04:05Z" is not a valid time: month out of range`},
		{`"2041-02-29T03:04:05Z"`, `expiresAt "2041-02-29T03:04:05Z" is not a valid time: day out of range`},
		{`"2040-01-02T24:00:00Z"`, `expiresAt "2040-01-02T24:00:00Z" is not a valid time: hour out of range`},
		{`"2040-01-02T03:04:60Z"`, `expiresAt "2040-01-02T03:04:60Z" is not a valid time: second out of range`},
		{`"2040-01-02T03:04:05+24:00"`, `expiresAt "2040-01-02T03:04:05+24:00" is not a valid time: time zone offset out of range`},
		{`"2040-01-02T03:04:05+01:60"`, `expiresAt "2040-01-02T03:04:05+01:60" is not a valid time: time zone offset out of range`},
		{"\"2040-01-02T03:04:05\\u005a\\ud800\"", `expiresAt holds an unpaired UTF-16 surrogate escape (\ud800)`},
		// The library's limits: the layout's range, and customer_request's retention.
		{`"1969-12-31T23:59:59Z"`, "dnc: invalid argument: expiresAt 1969-12-31 23:59:59 +0000 UTC: want a time from 1970 to 2106"},
		{`"2106-02-08T00:00:00Z"`, "dnc: invalid argument: expiresAt 2106-02-08 00:00:00 +0000 UTC: want a time from 1970 to 2106"},
	} {
		body := `{"phoneNumber": "14155552671", "type": "complaint", "expiresAt": ` + tc.expires + `}`
		before := f.dump(t)
		expect(t, body, f.do(t, "POST", "/api/dnc/add", tokA, body), 400, failed(400, tc.msg))
		f.unchanged(t, body, before)
	}
	for _, typ := range []string{"customer_request", "CUSTOMER_REQUEST"} {
		body := `{"phoneNumber": "14155552671", "type": "` + typ + `", "expiresAt": "2030-01-01T00:00:00Z"}`
		before := f.dump(t)
		r := f.do(t, "POST", "/api/dnc/add", tokA, body)
		msg, _ := r.body["message"].(string)
		if r.code != 400 || !strings.HasPrefix(msg, "dnc: invalid argument: expiresAt 2030-01-01T00:00:00Z is sooner than the ") || !strings.Contains(msg, `"`+typ+`" must be kept`) {
			t.Errorf("%s: status %d %s; want 400 naming the retention of the type", body, r.code, r.raw)
		}
		f.unchanged(t, body, before)
	}
}

// event is an event of the audit log as the API shows it.
type event struct {
	ID     string `json:"id"`
	Time   string `json:"time"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// history is the data of GET /api/dnc/history.
func history(events []event, limit int) map[string]any {
	if events == nil {
		events = []event{}
	}
	return map[string]any{"events": events, "limit": limit}
}

// TestHistory makes changes through the API at known times (the Redis server's clock
// stamps events) and reads them back: newest first, with the token's actor, filtered
// by time, limit and action.
func TestHistory(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var all []event // newest first
	at := func(i int, token, method, path, body, actor, action, detail string) {
		t.Helper()
		tm := t0.Add(time.Duration(i) * time.Second)
		f.mr.SetTime(tm)
		if r := f.do(t, method, path, token, body); r.code != 200 {
			t.Fatalf("%s %s: status %d %s", method, path, r.code, r.raw)
		}
		all = append([]event{{ID: fmt.Sprintf("%d-0", tm.UnixMilli()), Time: tm.Format("2006-01-02T15:04:05.000Z"),
			Actor: actor, Action: action, Detail: detail}}, all...)
	}
	at(0, tokA, "POST", "/api/dnc/enable-disable", `{"enable": false}`, actorA, dnc.ActionDisable, "")
	at(1, tokA, "POST", "/api/dnc/add", `{"phoneNumber": "12125551234", "batchId": "b-1"}`, actorA, dnc.ActionAdd, "+12125551234 batch b-1")
	at(2, tokA, "POST", "/api/dnc/rules", `{"prefix": "1201"}`, actorA, dnc.ActionRuleAdd, "+1201")
	at(3, tokA2, "POST", "/api/dnc/rules", `{"prefix": "+44 20"}`, "", dnc.ActionRuleAdd, "+4420")
	at(4, tokA, "DELETE", "/api/dnc/rules/%2B1201", "", actorA, dnc.ActionRuleRemove, "+1201")
	stored, err := f.enf.Entry(ctx, orgA, "+12125551234")
	if err != nil {
		t.Fatal(err)
	}
	at(5, tokA2, "DELETE", "/api/dnc/delete/"+stored.ID, "", "", dnc.ActionDelete, "+12125551234")
	at(6, tokA, "POST", "/api/dnc/enable-disable", `{"enable": true}`, actorA, dnc.ActionEnable, "")
	// Reads and refused writes are not events.
	f.do(t, "GET", "/api/dnc/list", tokA, "")
	f.do(t, "POST", "/api/dnc/check", tokA, `{"phoneNumbers": ["12015550123"]}`)
	f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "junk"}`)
	f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefix": "x"}`)
	// A rule removed that the org does not have changes nothing, and is no event.
	expect(t, "remove a rule the org lacks", f.do(t, "DELETE", "/api/dnc/rules/1415", tokA, ""), 200,
		ok(t, dnchttp.MsgRuleRemoved, map[string]string{"rule": "+1415"}))

	get := func(query string, want ...event) {
		t.Helper()
		limit := 100
		if q, _ := url.ParseQuery(strings.TrimPrefix(query, "?")); q.Get("limit") != "" {
			fmt.Sscan(q.Get("limit"), &limit)
			limit = min(limit, dnc.MaxHistory)
		}
		expect(t, "history"+query, f.do(t, "GET", "/api/dnc/history"+query, tokA, ""), 200, ok(t, dnchttp.MsgHistory, history(want, limit)))
	}
	ts := func(i int) string {
		return url.QueryEscape(t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339))
	}
	get("", all...)
	get("?limit=2", all[:2]...)
	get("?limit=1000000", all...) // capped, and data.limit says so
	get("?limit=007", all...)
	get("?actions=enable,disable", all[0], all[6])
	get("?actions=%20rule_add%20,rule_remove&limit=2", all[2], all[3])
	get("?actions=purge")
	get("?since="+ts(2), all[:5]...) // since is inclusive
	get("?until="+ts(2), all[5:]...) // until is exclusive
	get("?since="+ts(2)+"&until="+ts(4)+"&actions=rule_add", all[3], all[4])
	get("?since=2026-03-01T13:00:02%2B01:00&until=2026-03-01T07:00:04-05:00", all[3], all[4]) // offsets
	get("?since=2026-03-01T13:00:02+01:00&until=2026-03-01T07:00:04-05:00", all[3], all[4])   // "+" unescaped: read as a space, then as the "+" it was
	get("?since=2026-03-01t12:00:05.000z", all[:2]...)
	get("?since=2026-03-01T12:00:05.001Z", all[0])
	get("?until=1970-01-01T00:00:00Z")
	get("?since=2030-01-01T00:00:00Z")
	get("?orgId="+orgB+"&unknown=1", all...)       // the org comes from the token only
	get("?limit=2&before="+all[1].ID, all[2:4]...) // the next page after one ending with all[1]
	get("?before="+all[0].ID+"&actions=enable,disable", all[6])
	get("?before=0-0") // before the first possible id: none (Redis refuses "(0-0" as a range end)

	long := strings.Repeat("x", 70)
	for _, tc := range []struct{ query, msg string }{
		{"?before=yesterday", `dnc: invalid argument: history before "yesterday": not an event id`},
		{"?before=", `before must be an event's id, such as "1764500000000-0"`},
		{"?since=yesterday", `since "yesterday" is not an RFC 3339 timestamp: want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`},
		{"?since=", `since "" is not an RFC 3339 timestamp: want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`},
		{"?until=2026-03-01", `until "2026-03-01" is a date without a time of day: want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`},
		{"?until=2026-03-01T12:00:00", `until "2026-03-01T12:00:00" has no time zone ("Z" for UTC, or an offset such as "+02:00"): want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`},
		{"?since=2026-02-30T00:00:00Z", `since "2026-02-30T00:00:00Z" is not a valid time: day out of range`},
		{"?since=" + ts(3) + "&until=" + ts(3), "until must be later than since"},
		{"?since=" + ts(3) + "&until=" + ts(2), "until must be later than since"},
		{"?since=" + ts(1) + "&since=" + ts(2), "since is given more than once"},
		{"?until=" + ts(1) + "&until=" + ts(2), "until is given more than once"},
		{"?limit=0", `limit must be an integer of at least 1, got "0"`},
		{"?limit=-5", `limit must be an integer of at least 1, got "-5"`},
		{"?limit=ten", `limit must be an integer of at least 1, got "ten"`},
		{"?limit=", `limit must be an integer of at least 1, got ""`},
		{"?actions=", `actions "" holds an empty action: want actions separated by commas, such as "enable,disable"`},
		{"?actions=add,,remove", `actions "add,,remove" holds an empty action: want actions separated by commas, such as "enable,disable"`},
		{"?actions=add,", `actions "add," holds an empty action: want actions separated by commas, such as "enable,disable"`},
		{"?actions=add&actions=remove", "actions is given more than once"},
		{"?actions=add,nope", `dnc: invalid argument: history action "nope", want one of [enable disable add remove delete import purge rule_add rule_remove]`},
		{"?actions=ADD", `dnc: invalid argument: history action "ADD", want one of [enable disable add remove delete import purge rule_add rule_remove]`},
		{"?actions=add," + long, `actions: unknown action "` + long[:64] + `"... (70 bytes)`},
		{"?since=%zz", `malformed query string: invalid URL escape "%zz"`},
		{"?limit=5;x", "malformed query string: invalid semicolon separator in query"},
	} {
		expect(t, "history"+tc.query, f.do(t, "GET", "/api/dnc/history"+tc.query, tokA, ""), 400, failed(400, tc.msg))
	}
}

// Every change made through the API is recorded with the actor of its token: none for a
// token without one, and none for an Authenticator that does not name actors.
func TestActorFromToken(t *testing.T) {
	f := newFixture(t)
	changes := []struct{ method, path, body string }{
		{"POST", "/api/dnc/enable-disable", `{"enable": true}`},
		{"POST", "/api/dnc/add", `{"phoneNumber": "14155552671"}`},
		{"POST", "/api/dnc/rules", `{"prefix": "1415"}`},
		{"DELETE", "/api/dnc/rules/1415", ""},
	}
	actors := func(token string) []string {
		t.Helper()
		r := f.do(t, "GET", "/api/dnc/history", token, "")
		evs, _ := r.body["data"].(map[string]any)["events"].([]any)
		var out []string
		for _, e := range evs {
			out = append(out, e.(map[string]any)["actor"].(string))
		}
		return out
	}
	for _, c := range changes {
		if r := f.do(t, c.method, c.path, tokB, c.body); r.code != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.code, r.raw)
		}
	}
	if got := actors(tokB); fmt.Sprint(got) != fmt.Sprint([]string{actorB, actorB, actorB, actorB}) {
		t.Errorf("org-b's actors = %q; want %q four times", got, actorB)
	}
	for _, c := range changes {
		f.do(t, c.method, c.path, tokA2, strings.Replace(c.body, "14155552671", "14155552672", 1))
	}
	if got := actors(tokA); fmt.Sprint(got) != fmt.Sprint([]string{"", "", "", ""}) {
		t.Errorf("org-a's actors after tokA2's changes = %q; want four empty", got)
	}
	f.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": false}`)
	if got := actors(tokA2); len(got) != 5 || got[0] != actorA {
		t.Errorf("org-a's actors = %q; want %q first", got, actorA)
	}

	// An Authenticator that only has Org, as before IdentityAuthenticator: no actor.
	tokens, err := dnchttp.NewStaticTokens(map[string]string{tokA: orgA})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := dnchttp.NewStaticOrgs(orgA)
	h, err := dnchttp.New(f.enf, orgOnly{tokens}, dir)
	if err != nil {
		t.Fatal(err)
	}
	g := *f
	g.srv = newServer(t, h)
	if r := g.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": true}`); r.code != 200 {
		t.Fatalf("enable through an Org-only Authenticator: %d %s", r.code, r.raw)
	}
	if got := actors(tokA); len(got) != 6 || got[0] != "" {
		t.Errorf("org-a's actors = %q; want \"\" first", got)
	}
}

// orgOnly is an Authenticator that is not an IdentityAuthenticator.
type orgOnly struct{ a dnchttp.Authenticator }

func (o orgOnly) Org(ctx context.Context, token string) (string, error) { return o.a.Org(ctx, token) }

// badActor is an IdentityAuthenticator that names an actor the API refuses.
type badActor struct{ actor string }

func (b badActor) Org(context.Context, string) (string, error) { return orgA, nil }
func (b badActor) Identity(context.Context, string) (dnchttp.Identity, error) {
	return dnchttp.Identity{Org: orgA, Actor: b.actor}, nil
}

// An Authenticator that names an actor that is not valid is a failure of the server,
// 500 on every endpoint, logged without the token, and nothing changes; its error
// (ErrUnknownToken) is 401 whatever actor it names.
func TestBadActor(t *testing.T) {
	f := newFixture(t)
	dir, _ := dnchttp.NewStaticOrgs(orgA)
	for _, actor := range []string{strings.Repeat("a", dnc.MaxActorLen+1), "alice\x00", "al\u200bice", "bob\u202e", "\xff"} {
		logs := &syncBuffer{}
		h, err := dnchttp.New(f.enf, badActor{actor}, dir, dnchttp.WithLogger(newLogger(logs)))
		if err != nil {
			t.Fatal(err)
		}
		g := *f
		g.srv, g.logs = newServer(t, h), logs
		before := f.dump(t)
		for _, ep := range endpoints {
			expect(t, fmt.Sprintf("%s %s as %q", ep.method, ep.path, actor), g.do(t, ep.method, ep.path, tokA, ep.body), 500,
				failed(500, "internal error"))
		}
		f.unchanged(t, fmt.Sprintf("requests as %q", actor), before)
		if !strings.Contains(logs.String(), "authenticate: the actor of the token: ") || strings.Contains(logs.String(), tokA) {
			t.Errorf("actor %q: the log does not say why, or holds the token:\n%s", actor, logs)
		}
	}
	if _, err := dnchttp.NewStaticIdentities(map[string]dnchttp.Identity{tokA: {Org: orgA, Actor: "a\nb"}}); err == nil ||
		strings.Contains(err.Error(), tokA) {
		t.Errorf("NewStaticIdentities with actor \"a\\nb\" = %v; want an error that does not quote the token", err)
	}
	// The longest actor that is valid, with non-ASCII letters and spaces, is recorded as it is.
	actor := "Zoë Ångström " + strings.Repeat("x", dnc.MaxActorLen-len("Zoë Ångström "))
	auth, err := dnchttp.NewStaticIdentities(map[string]dnchttp.Identity{tokA: {Org: orgA, Actor: actor}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := dnchttp.New(f.enf, auth, dir)
	if err != nil {
		t.Fatal(err)
	}
	g := *f
	g.srv = newServer(t, h)
	if r := g.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": false}`); r.code != 200 {
		t.Fatalf("enable-disable as a long actor: %d %s", r.code, r.raw)
	}
	evs, err := f.enf.History(ctxT(t), orgA, dnc.HistoryOptions{Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].Actor != actor {
		t.Errorf("History = %+v, %v; want one event by %q", evs, err, actor)
	}
}

package dnc_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/redis/go-redis/v9"
)

// Rules, expiry and the audit log, in the behaviour suite (runSuite): on miniredis, a
// real redis-server and a real Redis Cluster.

func testRules(t *testing.T, rdb redis.UniversalClient) {
	rdb, cnt := hooked(rdb)
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+12015550100"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(201) 555-0199", false) // e learns that the org has no rules
	// "201" in region US, and "+1 201 55", are rules; a listed number a rule matches too
	// says listed, with the rule.
	for _, p := range []string{"201", "+1 201 55", "+44 20"} {
		if err := e.AddRule(ctx, o, p); err != nil {
			t.Fatalf("AddRule(%q): %v", p, err)
		}
	}
	if err := e.AddRule(ctx, o, "1 (201)"); err != nil { // the same rule again: no error
		t.Fatal(err)
	}
	if err := e.AddRules(ctx, o, []string{"+1 415 9", "bad"}); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Fatalf("AddRules with a bad prefix = %v; want ErrInvalidArgument", err)
	}
	rules, err := e.Rules(ctx, o)
	if want := []string{"+1201", "+120155", "+4420"}; err != nil || !slices.Equal(rules, want) {
		t.Fatalf("Rules = %v, %v; want %v", rules, err, want)
	}
	// e's next check finds a rules version new to it in the bucket's stamp: it reads the
	// rules, once (the first time also loading the script that reads them)
	if d, err := e.Check(ctx, o, "(201) 555-0199"); d.Reason != dnc.ReasonRule || err != nil {
		t.Fatalf("Check after the first rule = %+v, %v", d, err)
	}
	other := newEnforcer(t, rdb) // another process changes the rules: e reads them again
	if err := other.AddRule(ctx, o, "+1 212 9"); err != nil {
		t.Fatal(err)
	}
	before := cnt.trips.Load()
	if d, err := e.Check(ctx, o, "(212) 955-0100"); d.Reason != dnc.ReasonRule || err != nil {
		t.Fatalf("Check after another process's rule = %+v, %v", d, err)
	}
	if got := cnt.trips.Load() - before; got != 2 {
		t.Errorf("the first check after a change of the rules made %d round trips; want 2", got)
	}
	if err := other.RemoveRule(ctx, o, "+12129"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(212) 955-0100", false)
	for _, c := range []struct {
		number string
		reason dnc.Reason
		rule   string
	}{ // each one round trip: the rules are known
		{"(201) 555-0100", dnc.ReasonListed, "+120155"},
		{"(201) 555-0199", dnc.ReasonRule, "+120155"},
		{"(201) 777-0199", dnc.ReasonRule, "+1201"},
		{"+44 20 7946 0958", dnc.ReasonRule, "+4420"},
		{"+44 161 496 0000", dnc.ReasonNotListed, ""},
		{"(212) 555-0100", dnc.ReasonNotListed, ""},
	} {
		before = cnt.trips.Load()
		d, err := e.Check(ctx, o, c.number)
		if err != nil || d.Reason != c.reason || d.Rule != c.rule || d.Skip != (c.reason != dnc.ReasonNotListed) {
			t.Errorf("Check(%q) = %+v, %v; want %s, rule %q", c.number, d, err, c.reason, c.rule)
		}
		if got := cnt.trips.Load() - before; got != 1 {
			t.Errorf("Check(%q) with rules made %d round trips; want 1", c.number, got)
		}
	}
	batch := []string{"(201) 555-0100", "(201) 555-0199", "+44 20 7946 0958", "(212) 555-0100", "junk"}
	ds, _ := e.CheckMany(ctx, o, batch)
	wantReasons := []dnc.Reason{dnc.ReasonListed, dnc.ReasonRule, dnc.ReasonRule, dnc.ReasonNotListed, dnc.ReasonInvalidNumber}
	for i, d := range ds {
		if d.Reason != wantReasons[i] {
			t.Errorf("CheckMany[%d] %q = %+v; want %s", i, batch[i], d, wantReasons[i])
		}
	}
	if ds[1].Rule != "+120155" || ds[2].Rule != "+4420" || !ds[1].Skip {
		t.Errorf("CheckMany rules: %+v, %+v", ds[1], ds[2])
	}
	// Switched off, rules block nothing either.
	if err := e.SetEnabled(ctx, o, false); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(201) 555-0199", false)
	if ds, _ := e.CheckMany(ctx, o, batch[:2]); ds[1].Skip || ds[1].Reason != dnc.ReasonDisabled {
		t.Errorf("CheckMany while off = %+v", ds[1])
	}
	if err := e.SetEnabled(ctx, o, true); err != nil {
		t.Fatal(err)
	}
	// Removing the longer rule leaves the shorter one matching.
	if err := e.RemoveRule(ctx, o, "+1 201 55"); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Check(ctx, o, "(201) 555-0199"); d.Reason != dnc.ReasonRule || d.Rule != "+1201" {
		t.Errorf("after RemoveRule: %+v", d)
	}
	if err := e.RemoveRule(ctx, o, "+1201"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(201) 555-0199", false)
	if err := e.RemoveRule(ctx, o, "+1999"); err != nil { // not there: no error
		t.Fatal(err)
	}
	// Bad prefixes are refused and write nothing.
	snap := snapshot(t, rdb)
	for _, p := range []string{"", "+", "abc", "+0044", "+999", "+1234567890123456", "12a"} {
		if err := e.AddRule(ctx, o, p); !errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("AddRule(%q) = %v; want ErrInvalidArgument", p, err)
		}
	}
	if snapshot(t, rdb) != snap {
		t.Error("refused rules wrote to Redis")
	}
}

func testRulesIsolation(t *testing.T, rdb redis.UniversalClient) {
	e, a, b, ctx := newEnforcer(t, rdb), org(t), org(t), ctxT(t)
	if err := e.AddRule(ctx, a, "+1415"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, a, "(415) 555-2671", true)
	mustSkip(t, e, b, "(415) 555-2671", false)
	if ds, _ := e.CheckMany(ctx, b, []string{"(415) 555-2671"}); ds[0].Skip {
		t.Errorf("org b's CheckMany = %+v", ds[0])
	}
	if rules, err := e.Rules(ctx, b); len(rules) != 0 || err != nil {
		t.Errorf("org b's rules = %v, %v", rules, err)
	}
	if err := e.RemoveRule(ctx, b, "+1415"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, a, "(415) 555-2671", true)
	// Many rules in one change: written 100 a script, every one with its event.
	many := make([]string, 450)
	for i := range many {
		many[i] = fmt.Sprintf("+1303%03d", 200+i)
	}
	if err := e.AddRules(ctx, a, many); err != nil {
		t.Fatal(err)
	}
	if rules, err := e.Rules(ctx, a); len(rules) != 451 || err != nil {
		t.Errorf("Rules after AddRules of 450 = %d, %v; want 451", len(rules), err)
	}
	if d, _ := e.Check(ctx, a, "(303) 649-0000"); d.Reason != dnc.ReasonRule || d.Rule != "+1303649" {
		t.Errorf("Check under the last of 450 rules = %+v", d)
	}
	if evs, err := e.History(ctx, a, dnc.HistoryOptions{Actions: []string{dnc.ActionRuleAdd}, Limit: 1000}); len(evs) != 451 || err != nil {
		t.Errorf("rule_add events = %d, %v; want 451", len(evs), err)
	}
	if evs, err := e.History(ctx, a, dnc.HistoryOptions{Before: "0-0"}); len(evs) != 0 || err != nil {
		t.Errorf("History before 0-0 = %v, %v; want none", evs, err)
	}
	if evs, err := e.History(ctx, b, dnc.HistoryOptions{}); len(evs) != 0 || err != nil {
		t.Errorf("org b's history = %v, %v; want none", evs, err)
	}
}

// testExpiry: an entry expires by the Redis server's clock, whatever the Enforcer's
// clock says: one Enforcer's clock runs ten years ahead, another's ten years behind.
func testExpiry(t *testing.T, rdb redis.UniversalClient) {
	ctx, o := ctxT(t), org(t)
	ahead := newEnforcer(t, rdb, dnc.WithClock(func() time.Time { return time.Now().AddDate(10, 0, 0) }))
	behind := newEnforcer(t, rdb, dnc.WithClock(func() time.Time { return time.Now().AddDate(-10, 0, 0) }))
	soon := time.Now().Add(time.Hour)
	// To the client ahead, soon passed ten years ago; the server says it has not.
	const uuid1 = "0b7c5f7e-3c1a-4e55-9d8e-2a6f4c1b9e01"
	en, err := ahead.AddEntry(ctx, o, "+14155550001", dnc.Meta{Type: "complaint", RequestUUID: uuid1, ExpiresAt: soon})
	if err != nil {
		t.Fatal(err)
	}
	if !en.ExpiresAt.Equal(soon.Truncate(time.Second).Add(time.Second)) {
		t.Errorf("ExpiresAt = %v; want %v rounded up to the second", en.ExpiresAt, soon)
	}
	// To the client behind, an hour ago is ten years away; the server says it is past.
	if _, err := behind.AddEntry(ctx, o, "+14155550002", dnc.Meta{RequestUUID: "call-2", ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ahead.Add(ctx, o, "+14155550003"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*dnc.Enforcer{ahead, behind} {
		mustSkip(t, e, o, "+14155550001", true)
		mustSkip(t, e, o, "+14155550002", false)
		mustSkip(t, e, o, "+14155550003", true)
		ds, err := e.CheckMany(ctx, o, []string{"+14155550001", "+14155550002", "+14155550003"})
		if err != nil || !ds[0].Skip || ds[1].Skip || ds[1].Reason != dnc.ReasonNotListed || !ds[2].Skip {
			t.Errorf("CheckMany = %+v, %v", ds, err)
		}
	}
	if got, err := ahead.Entry(ctx, o, "+14155550001"); err != nil || !got.ExpiresAt.Equal(en.ExpiresAt) || got.Type != "complaint" {
		t.Errorf("Entry = %+v, %v", got, err)
	}
	// A batch much larger than the list reads buckets whole: expiry holds there too.
	big := make([]string, 3000)
	for i := range big {
		big[i] = fmt.Sprintf("+1415555%04d", i)
	}
	ds, err := ahead.CheckMany(ctx, o, big)
	if err != nil || !ds[1].Skip || ds[2].Skip || !ds[3].Skip || ds[4].Skip {
		t.Errorf("CheckMany of 3000: %+v %+v %+v, %v", ds[1], ds[2], ds[3], err)
	}
	// Adding again never shortens a life: no expiry, or a later one, replaces it, and
	// nothing else of the entry changes.
	if _, err := ahead.AddEntry(ctx, o, "+14155550002", dnc.Meta{}); !errors.Is(err, dnc.ErrExists) {
		t.Fatalf("AddEntry of a listed number = %v; want ErrExists", err)
	}
	mustSkip(t, ahead, o, "+14155550002", true)
	if got, _ := ahead.Entry(ctx, o, "+14155550002"); !got.ExpiresAt.IsZero() || got.RequestUUID != "call-2" {
		t.Errorf("re-added without an expiry: ExpiresAt %v, RequestUUID %q", got.ExpiresAt, got.RequestUUID)
	}
	later := soon.Add(24 * time.Hour)
	if _, err := ahead.AddEntry(ctx, o, "+14155550001", dnc.Meta{ExpiresAt: later}); !errors.Is(err, dnc.ErrExists) {
		t.Fatal(err)
	}
	if _, err := ahead.AddEntry(ctx, o, "+14155550001", dnc.Meta{ExpiresAt: soon}); !errors.Is(err, dnc.ErrExists) {
		t.Fatal(err)
	}
	if got, _ := ahead.Entry(ctx, o, "+14155550001"); !got.ExpiresAt.Equal(later.Truncate(time.Second).Add(time.Second)) ||
		got.Type != "complaint" || got.RequestUUID != uuid1 || got.ID != en.ID || !got.CreatedAt.Equal(en.CreatedAt) {
		t.Errorf("after a later and then a sooner expiry: %+v; want %+v with ExpiresAt %v", got, en, later)
	}
	// Retention: a customer request is kept 5 years unless the option says otherwise.
	before := snapshot(t, rdb)
	_, err = behind.AddEntry(ctx, o, "+14155550004", dnc.Meta{Type: "Customer_Request", ExpiresAt: time.Now().AddDate(-6, 0, 0)})
	if !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("a customer request kept 4 years = %v; want ErrInvalidArgument", err)
	}
	if snapshot(t, rdb) != before {
		t.Error("a refused expiry wrote to Redis")
	}
	free := newEnforcer(t, rdb, dnc.WithMinRetention("customer_request", 0), dnc.WithMinRetention("complaint", 24*time.Hour))
	if _, err := free.AddEntry(ctx, o, "+14155550004", dnc.Meta{Type: "customer_request", ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Errorf("WithMinRetention 0: %v", err)
	}
	if _, err := free.AddEntry(ctx, o, "+14155550005", dnc.Meta{Type: "complaint", ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("a complaint kept an hour under a day's floor = %v", err)
	}
	if _, err := dnc.New(rdb, dnc.WithMinRetention("x", -1)); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("negative retention: %v", err)
	}
	// Purge removes the expired entry (+14155550004) from the list, the count and the
	// listing, and says so in the audit log; the rest stay.
	if n, _ := free.Count(ctx, o); n != 4 {
		t.Fatalf("Count = %d; want 4", n)
	}
	n, err := free.Purge(dnc.WithActor(ctx, "janitor"), o)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if c, _ := free.Count(ctx, o); c != 3 {
		t.Errorf("Count after purge = %d; want 3", c)
	}
	page, err := free.List(ctx, o, dnc.ListOptions{Limit: 10})
	if err != nil || len(page.Entries) != 3 || page.Total != 3 {
		t.Fatalf("List after purge = %+v, %v", page, err)
	}
	for _, en := range page.Entries {
		if en.Number == "+14155550004" {
			t.Error("the purged entry is still listed")
		}
	}
	if _, err := free.Entry(ctx, o, "+14155550004"); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("Entry of the purged number: %v", err)
	}
	evs, err := free.History(ctx, o, dnc.HistoryOptions{Actions: []string{dnc.ActionPurge}})
	if err != nil || len(evs) != 1 || evs[0].Actor != "janitor" || evs[0].Detail != "+14155550004" {
		t.Errorf("purge events = %+v, %v", evs, err)
	}
	if n, err := free.Purge(ctx, o); n != 0 || err != nil {
		t.Errorf("second Purge = %d, %v; want 0", n, err)
	}
}

// testAudit: every kind of change is in the log, newest first, with its actor, and
// "when was DNC switched off for org X, by whom, and when back on?" is one call.
func testAudit(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	alice, bob := dnc.WithActor(ctx, "alice@acme"), dnc.WithActor(ctx, "bob@acme")
	start := time.Now().Add(-time.Second)
	steps := []func() error{
		func() error { return e.SetEnabled(alice, o, false) },
		func() error { _, err := e.Add(bob, o, "+14155550001", "+14155550002"); return err },
		func() error {
			_, err := e.AddEntry(alice, o, "+14155550003", dnc.Meta{BatchID: "spring"})
			return err
		},
		func() error { _, err := e.Remove(bob, o, "+14155550001", "+14155559999"); return err },
		func() error { return e.AddRule(alice, o, "+1201") },
		func() error { return e.RemoveRule(alice, o, "+1201") },
		func() error {
			en, err := e.Entry(ctx, o, "+14155550002")
			if err == nil {
				_, err = e.DeleteByID(bob, o, en.ID)
			}
			return err
		},
		func() error {
			_, err := e.Import(alice, o, strings.NewReader("+14155550010\n+14155550011\n"), dnc.ImportOptions{Meta: dnc.Meta{BatchID: "b7"}})
			return err
		},
		func() error {
			_, err := e.Import(bob, o, strings.NewReader("+14155550010\n"), dnc.ImportOptions{Delete: true})
			return err
		},
		func() error { return e.SetEnabled(bob, o, true) },
		// changes that change nothing leave no event
		func() error { _, err := e.Add(bob, o, "+14155550003"); return err },
		func() error { _, err := e.Remove(bob, o, "+14155559999"); return err },
		func() error { return e.RemoveRule(alice, o, "+1999") },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	evs, err := e.History(ctx, o, dnc.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Action+"|"+ev.Actor+"|"+ev.Detail)
		if ev.Time.Before(start) || ev.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("event %+v: time not the server's now", ev)
		}
	}
	want := []string{
		"enable|bob@acme|",
		"import|bob@acme|remove +14155550010",
		"import|alice@acme|add 2 numbers batch b7",
		"delete|bob@acme|+14155550002",
		"rule_remove|alice@acme|+1201",
		"rule_add|alice@acme|+1201",
		"remove|bob@acme|+14155550001",
		"add|alice@acme|+14155550003 batch spring",
		"add|bob@acme|2 numbers",
		"disable|alice@acme|",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("History =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sw, err := e.History(ctx, o, dnc.HistoryOptions{Actions: []string{dnc.ActionEnable, dnc.ActionDisable}})
	if err != nil || len(sw) != 2 || sw[0].Action != "enable" || sw[0].Actor != "bob@acme" || sw[1].Action != "disable" || sw[1].Actor != "alice@acme" || sw[0].Time.Before(sw[1].Time) {
		t.Errorf("switch history = %+v, %v", sw, err)
	}
	// Before pages through them by id, two at a time.
	var paged []dnc.Event
	for before := ""; ; {
		page, err := e.History(ctx, o, dnc.HistoryOptions{Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(paged) != len(evs) || paged[len(paged)-1] != evs[len(evs)-1] || paged[3] != evs[3] {
		t.Errorf("paged by Before: %d events; want %d", len(paged), len(evs))
	}
	if _, err := e.History(ctx, o, dnc.HistoryOptions{Before: "x-1"}); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("Before not an id: %v", err)
	}
	// Limit, Since and Until page through the same events.
	if two, _ := e.History(ctx, o, dnc.HistoryOptions{Limit: 2}); len(two) != 2 || two[1].ID != evs[1].ID {
		t.Errorf("Limit 2 = %+v", two)
	}
	if none, _ := e.History(ctx, o, dnc.HistoryOptions{Until: evs[len(evs)-1].Time}); len(none) != 0 {
		t.Errorf("Until the first event's time = %+v; want none", none)
	}
	if all, _ := e.History(ctx, o, dnc.HistoryOptions{Since: evs[len(evs)-1].Time, Until: time.Now().Add(time.Hour)}); len(all) != len(evs) {
		t.Errorf("Since the first event = %d events; want %d", len(all), len(evs))
	}
	for _, bad := range []dnc.HistoryOptions{{Limit: -1}, {Limit: dnc.MaxHistory + 1}, {Actions: []string{"flush"}}} {
		if _, err := e.History(ctx, o, bad); !errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("History(%+v) = %v; want ErrInvalidArgument", bad, err)
		}
	}
	// A bad actor writes nothing.
	before := snapshot(t, rdb)
	badCtx := dnc.WithActor(ctx, "mallory\x1b[2J")
	if _, err := e.Add(badCtx, o, "+14155550099"); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("Add with a control character in the actor = %v", err)
	}
	if err := e.SetEnabled(badCtx, o, false); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("SetEnabled with a bad actor = %v", err)
	}
	if snapshot(t, rdb) != before {
		t.Error("a refused actor wrote to Redis")
	}
}

func TestParseRule(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"+1201", "US", "+1201"},
		{"201", "US", "+1201"},
		{"1 (201)", "US", "+1201"},
		{"011 44 20", "US", "+4420"}, // the international prefix
		{"+44 20", "US", "+4420"},
		{"020", "GB", "+4420"}, // the national prefix
		{"00 44 20", "GB", "+4420"},
		{"+1", "US", "+1"}, // a whole country
		{"0201", "US", ""}, // no area code begins with 0 or 1
		{"1 101", "US", ""},
		{"+0044", "US", ""},
		{"+999", "US", ""}, // no such country code
		{"+2", "US", ""},
		{"+1234567890123456", "US", ""},
		{"", "US", ""},
		{"+", "US", ""},
		{"12a", "US", ""},
		{"tel:+1201", "US", ""},
		{"44 20", "GB", ""}, // the country code, or a national number beginning alike: ask for "+"
		{"0491", "DE", "+49491"},
		{"49 30", "DE", ""},
		{"06", "IT", "+3906"}, // no national prefix: the 0 is the number's
		{"39 06", "IT", ""},
	} {
		got, err := dnc.ParseRule(c.in, c.region)
		if got != c.want || (c.want == "") != errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("ParseRule(%q, %s) = %q, %v; want %q", c.in, c.region, got, err, c.want)
		}
	}
}

package dnchttp_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
)

func TestRules(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	rules := func(want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		expect(t, "rules", f.do(t, "GET", "/api/dnc/rules", tokA, ""), 200, ok(t, dnchttp.MsgRules, map[string]any{"rules": want}))
	}
	rules() // none yet: an empty list, not null
	// A prefix is read as the numbers of requests are: with "+" and its country code, or
	// else in the Enforcer's default region (US here).
	for _, tc := range []struct{ prefix, rule string }{
		{"+1201", "+1201"},
		{"1201", "+1201"}, // the same rule again: not an error
		{" +44 20 ", "+4420"},
		{"(1) 415-555", "+1415555"},
		{"201", "+1201"},       // an area code, in region US
		{"011 44 20", "+4420"}, // after US's international prefix
		{"+1.646", "+1646"},
		{"+123456789012345", "+123456789012345"}, // 15 digits, as long as a number
	} {
		body := fmt.Sprintf(`{"prefix": %q, "orgId": "org-b"}`, tc.prefix)
		expect(t, "add "+tc.prefix, f.do(t, "POST", "/api/dnc/rules", tokA, body), 200,
			ok(t, dnchttp.MsgRuleAdded, map[string]string{"rule": tc.rule}))
	}
	rules("+1201", "+123456789012345", "+1415555", "+1646", "+4420") // sorted as text
	if got, err := f.enf.Rules(ctx, orgA); err != nil || len(got) != 5 {
		t.Errorf("library Rules = %q, %v; want the 5 rules", got, err)
	}
	if n, _ := f.enf.Rules(ctx, orgB); len(n) != 0 {
		t.Errorf("org-b has rules %q; the body's orgId must be ignored", n)
	}

	for _, tc := range []struct{ body, msg string }{
		{`{}`, "prefix is required"},
		{`{"Prefix": "+1201"}`, "prefix is required"},
		{`{"prefix": null}`, "prefix must be a JSON string, got null"},
		{`{"prefix": 1201}`, "prefix must be a JSON string, got a number"},
		{`{"prefix": ["+1201"]}`, "prefix must be a JSON string, got an array"},
		{`{"prefix": "+1201", "prefix": "+1202"}`, `request body: key "prefix" is given more than once`},
		{`{"prefix": "+1201"} x`, "request body: trailing data after the JSON object"},
		{`{"prefix": "+1201"`, "request body: malformed JSON: unexpected end of input"},
		{``, "request body is empty: want a JSON object"},
		{`"+1201"`, "request body must be a JSON object"},
		{"{\"prefix\": \"+12\xff01\"}", "prefix is not valid UTF-8"},
		{`{"prefix": ""}`, `prefix "" is not a valid rule: dnc: invalid argument: rule "": no digits`},
		{`{"prefix": "  "}`, `prefix "  " is not a valid rule: dnc: invalid argument: rule "  ": no digits`},
		{`{"prefix": "+"}`, `prefix "+" is not a valid rule: dnc: invalid argument: rule "+": no digits`},
		{`{"prefix": "abc"}`, `prefix "abc" is not a valid rule: dnc: invalid argument: rule "abc": want digits, with an optional leading "+"`},
		{`{"prefix": "++1201"}`, `prefix "++1201" is not a valid rule: dnc: invalid argument: rule "++1201": want digits, with an optional leading "+"`},
		{`{"prefix": "+1201*"}`, `prefix "+1201*" is not a valid rule: dnc: invalid argument: rule "+1201*": want digits, with an optional leading "+"`},
		{`{"prefix": "tel:+1201"}`, `prefix "tel:+1201" is not a valid rule: dnc: invalid argument: rule "tel:+1201": want digits, with an optional leading "+"`},
		{`{"prefix": "0044 20"}`, `prefix "0044 20" is not a valid rule: dnc: invalid argument: rule "0044 20": in region US, an area code begins with 2 to 9`},
		{`{"prefix": "+0044 20"}`, `prefix "+0044 20" is not a valid rule: dnc: invalid argument: rule "+0044 20": a country code does not begin with 0`},
		{`{"prefix": "+1234567890123456"}`, `prefix "+1234567890123456" is not a valid rule: dnc: invalid argument: rule "+1234567890123456": longer than an E.164 number (15 digits)`},
		{`{"prefix": "+999"}`, `prefix "+999" is not a valid rule: dnc: invalid argument: rule "+999": does not begin with a country calling code`},
	} {
		before := f.dump(t)
		expect(t, "add rule "+tc.body, f.do(t, "POST", "/api/dnc/rules", tokA, tc.body), 400, failed(400, tc.msg))
		f.unchanged(t, "add rule "+tc.body, before)
	}

	// DELETE takes the prefix URL-escaped, in any of the forms POST takes.
	for _, tc := range []struct{ path, rule string }{
		{"%2B1201", "+1201"},
		{"1201", "+1201"},  // gone already: not an error
		{"+4420", "+4420"}, // a "+" in a path is a "+"
		{url.PathEscape("(1) 415-555"), "+1415555"},
		{"%2B1%20646", "+1646"},
	} {
		expect(t, "remove "+tc.path, f.do(t, "DELETE", "/api/dnc/rules/"+tc.path, tokA, ""), 200,
			ok(t, dnchttp.MsgRuleRemoved, map[string]string{"rule": tc.rule}))
	}
	rules("+123456789012345")
	for _, tc := range []struct{ path, msg string }{
		{"abc", `prefix "abc" is not a valid rule: dnc: invalid argument: rule "abc": want digits, with an optional leading "+"`},
		{"%2B", `prefix "+" is not a valid rule: dnc: invalid argument: rule "+": no digits`},
		{"%20", `prefix " " is not a valid rule: dnc: invalid argument: rule " ": no digits`},
		{"12%2F01", `prefix "12/01" is not a valid rule: dnc: invalid argument: rule "12/01": want digits, with an optional leading "+"`},
		{"0201", `prefix "0201" is not a valid rule: dnc: invalid argument: rule "0201": in region US, an area code begins with 2 to 9`},
		{"%2E%2E", `prefix ".." is not a valid rule: dnc: invalid argument: rule "..": no digits`},
	} {
		before := f.dump(t)
		expect(t, "remove "+tc.path, f.do(t, "DELETE", "/api/dnc/rules/"+tc.path, tokA, ""), 400, failed(400, tc.msg))
		f.unchanged(t, "remove "+tc.path, before)
	}
}

// POST /api/dnc/rules with "prefixes" adds many rules in one change, all or nothing.
func TestAddRules(t *testing.T) {
	f := newFixture(t)
	expect(t, "add two", f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefixes": ["+1 303", "415 9", "+1303"]}`), 200,
		ok(t, dnchttp.MsgRuleAdded, map[string]any{"rules": []string{"+1303", "+14159", "+1303"}}))
	expect(t, "rules", f.do(t, "GET", "/api/dnc/rules", tokA, ""), 200, ok(t, dnchttp.MsgRules, map[string]any{"rules": []string{"+1303", "+14159"}}))
	for _, tc := range []struct{ body, msg string }{
		{`{"prefixes": ["+1212", "abc"]}`, `prefix "abc" is not a valid rule: dnc: invalid argument: rule "abc": want digits, with an optional leading "+"`},
		{`{"prefixes": []}`, `prefixes must hold 1 to 10000 rules, got 0`},
		{`{"prefix": "+1212", "prefixes": ["+1213"]}`, `give prefix (one rule) or prefixes (an array of rules), not both`},
		{`{"prefixes": "+1212"}`, `prefixes must be a JSON array of strings, got a string`},
		{`{"prefix": null}`, `prefix must be a JSON string, got null`},
		{`{"prefix": null, "prefixes": ["+1303"]}`, `prefix must be a JSON string, got null`},
		{`{"prefixes": [""]}`, `prefix "" is not a valid rule: dnc: invalid argument: rule "": no digits`},
	} {
		before := f.dump(t)
		expect(t, "add rules "+tc.body, f.do(t, "POST", "/api/dnc/rules", tokA, tc.body), 400, failed(400, tc.msg))
		f.unchanged(t, "add rules "+tc.body, before)
	}
}

// An org has at most dnc.MaxRules rules; one more is 400 and changes nothing. (On a
// real Redis: miniredis takes seconds for the ten thousand scripts.)
func TestTooManyRules(t *testing.T) {
	f := newFixtureOn(t, redistest.Start(t).Client(t))
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, dnc.MaxRules)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < dnc.MaxRules; i += 16 {
				if err := f.enf.AddRule(ctx, orgA, fmt.Sprintf("+1%09d", i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before := f.dump(t)
	r := f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefix": "+44"}`)
	msg, _ := r.body["message"].(string)
	if r.code != 400 || !strings.HasPrefix(msg, "dnc: invalid argument: ") || !strings.Contains(msg, "rules") {
		t.Errorf("rule %d: status %d %s; want 400 saying the org has too many rules", dnc.MaxRules+1, r.code, r.raw)
	}
	f.unchanged(t, "one rule too many", before)
	// A rule the org has is not one more.
	expect(t, "a rule the org has", f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefix": "+1000000000"}`), 200,
		ok(t, dnchttp.MsgRuleAdded, map[string]string{"rule": "+1000000000"}))
}

// A number that one of the org's rules matches is skipped with reason "rule" and the
// rule; a listed number that a rule matches too says "listed", and the rule.
func TestCheckRule(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	if _, err := f.enf.Add(ctx, orgA, "+12015550100"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"1201", "1201555", "+44"} {
		if r := f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefix": "`+p+`"}`); r.code != 200 {
			t.Fatalf("add rule %s: %d %s", p, r.code, r.raw)
		}
	}
	type result struct {
		Input       string `json:"input"`
		PhoneNumber string `json:"phoneNumber"`
		Skip        bool   `json:"skip"`
		Reason      string `json:"reason"`
		Rule        string `json:"rule,omitempty"`
	}
	// expect compares the decoded envelopes: a result without a rule has no "rule" key.
	check := func(body string, want ...result) {
		t.Helper()
		expect(t, body, f.do(t, "POST", "/api/dnc/check", tokA, body), 200, ok(t, dnchttp.MsgChecked, map[string]any{"results": want}))
	}
	check(`{"phoneNumbers": ["12015550100", "12015550199", "12019999999", "442079460958", "14155552671", "junk"]}`,
		result{"12015550100", "+12015550100", true, "listed", "+1201555"},
		result{"12015550199", "+12015550199", true, "rule", "+1201555"}, // the longest rule that matches
		result{"12019999999", "+12019999999", true, "rule", "+1201"},
		result{"442079460958", "+442079460958", true, "rule", "+44"},
		result{"14155552671", "+14155552671", false, "not_listed", ""},
		result{"junk", "", true, "invalid_number", ""},
	)
	check(`{"phoneNumbers": ["(212) 555-1234", "020 7946 0958"], "region": "GB"}`,
		result{"(212) 555-1234", "", true, "invalid_number", ""},
		result{"020 7946 0958", "+442079460958", true, "rule", "+44"},
	)
	// Removed, the rule blocks nothing; disabled, nothing is blocked.
	f.do(t, "DELETE", "/api/dnc/rules/%2B44", tokA, "")
	check(`{"phoneNumbers": ["442079460958"]}`, result{"442079460958", "+442079460958", false, "not_listed", ""})
	f.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": false}`)
	check(`{"phoneNumbers": ["12019999999"]}`, result{"12019999999", "+12019999999", false, "disabled", ""})
}

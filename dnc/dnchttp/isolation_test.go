package dnchttp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
)

// A token of org A can never read, add, delete or toggle anything of org B.
func TestOrgIsolation(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	theirs := addN(t, f, orgB, 3)
	if err := f.enf.SetEnabled(ctx, orgB, false); err != nil {
		t.Fatal(err)
	}
	keysOfB := func() string { return f.keysOf(t, orgB) }
	before := keysOfB()

	// Read: A's status and list are A's own, whatever the query or body says.
	expect(t, "status", f.do(t, "GET", "/api/dnc/status?orgId="+orgB, tokA, ""), 200,
		ok(t, dnchttp.MsgStatus, map[string]bool{"enabled": true}))
	empty := map[string]any{"dncList": []entry{}, "pagination": map[string]int{"total": 0, "page": 1, "limit": 10, "totalPages": 0}}
	for _, q := range []string{"", "?orgId=" + orgB, "?search=" + theirs[0].PhoneNumber[1:], "?search=REQ-1"} {
		expect(t, "list"+q, f.do(t, "GET", "/api/dnc/list"+q, tokA, ""), 200, ok(t, dnchttp.MsgListed, empty))
	}
	// Check: A is enforced and has not listed B's numbers.
	type result struct {
		Input       string `json:"input"`
		PhoneNumber string `json:"phoneNumber"`
		Skip        bool   `json:"skip"`
		Reason      string `json:"reason"`
	}
	expect(t, "check", f.do(t, "POST", "/api/dnc/check", tokA, `{"phoneNumbers": ["`+theirs[0].PhoneNumber+`"], "orgId": "org-b"}`), 200,
		ok(t, dnchttp.MsgChecked, map[string]any{"results": []result{{theirs[0].PhoneNumber, theirs[0].PhoneNumber, false, "not_listed"}}}))
	// Delete: B's record, by its real id, is not found for A.
	for _, e := range theirs {
		expect(t, "delete B's "+e.ID, f.do(t, "DELETE", "/api/dnc/delete/"+e.ID, tokA, ""), 404, failed(404, "DNC record not found"))
		if _, err := f.enf.EntryByID(ctx, orgB, e.ID); err != nil {
			t.Errorf("B's entry %s after A's delete: %v", e.ID, err)
		}
	}
	// Add: the same number goes on A's list, not B's, and B's entry is untouched.
	r := f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "`+theirs[0].PhoneNumber+`", "orgId": "org-b", "type": "mine"}`)
	if r.code != 200 {
		t.Fatalf("A adds B's number: status %d %s", r.code, r.raw)
	}
	if data, _ := r.body["data"].(map[string]any); data["orgId"] != orgA || data["_id"] == theirs[0].ID {
		t.Errorf("A's new entry = %v; want org-a and a new id", data)
	}
	// Toggle: A's switch, not B's.
	expect(t, "toggle", f.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": true, "orgId": "org-b"}`), 200,
		ok(t, dnchttp.MsgSettingUpdated, nil))
	expect(t, "toggle", f.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": false}`), 200,
		ok(t, dnchttp.MsgSettingUpdated, nil))

	if after := keysOfB(); after != before {
		t.Errorf("org-a's requests changed org-b:\nbefore %s\nafter %s", before, after)
	}
	// And A's delete of its own copy leaves B's alone.
	mine, err := f.enf.Entry(ctx, orgA, theirs[0].PhoneNumber)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "delete A's own", f.do(t, "DELETE", "/api/dnc/delete/"+mine.ID, tokA, ""), 200,
		ok(t, dnchttp.MsgDeleted, map[string]string{"_id": mine.ID, "phoneNumber": theirs[0].PhoneNumber}))
	if skip, err := f.enf.ShouldSkip(ctx, orgB, theirs[0].PhoneNumber); skip || err != nil {
		t.Errorf("B's check = %v, %v; want false (B is disabled), nil", skip, err)
	}
	if _, err := f.enf.EntryByID(ctx, orgB, theirs[0].ID); errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("B's entry was deleted by A's delete of its own")
	}
	if after := keysOfB(); after != before {
		t.Errorf("org-a's requests changed org-b:\nbefore %s\nafter %s", before, after)
	}
}

// keysOf returns every key of org and its value, as stored.
func (f *fixture) keysOf(t *testing.T, org string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(f.dump(t), "\n") {
		if strings.Contains(line, ":{"+org+"}:") {
			b.WriteString(line + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatalf("%s has no keys", org)
	}
	return b.String()
}

// A token of org A never sees org B's rules or history, and never changes B's rules;
// B's rules never block A's numbers.
func TestOrgIsolationRulesAndHistory(t *testing.T) {
	f := newFixture(t)
	for _, rq := range []struct{ method, path, body string }{
		{"POST", "/api/dnc/rules", `{"prefix": "+1201"}`},
		{"POST", "/api/dnc/rules", `{"prefix": "+44"}`},
		{"POST", "/api/dnc/add", `{"phoneNumber": "12125551234"}`},
		{"POST", "/api/dnc/enable-disable", `{"enable": true}`},
	} {
		if r := f.do(t, rq.method, rq.path, tokB, rq.body); r.code != 200 {
			t.Fatalf("B: %s %s: %d %s\n%s", rq.method, rq.path, r.code, r.raw, f.logs)
		}
	}
	before := f.keysOf(t, orgB)
	noRules := ok(t, dnchttp.MsgRules, map[string]any{"rules": []string{}})
	for _, q := range []string{"", "?orgId=" + orgB} {
		expect(t, "A's rules"+q, f.do(t, "GET", "/api/dnc/rules"+q, tokA, ""), 200, noRules)
		expect(t, "A's history"+q, f.do(t, "GET", "/api/dnc/history"+q, tokA, ""), 200, ok(t, dnchttp.MsgHistory, history(nil, 100)))
		expect(t, "A's history of rules"+q, f.do(t, "GET", "/api/dnc/history?actions=rule_add"+strings.Replace(q, "?", "&", 1), tokA, ""), 200,
			ok(t, dnchttp.MsgHistory, history(nil, 100)))
	}
	// B's rule, removed by A: A had no such rule; B keeps it.
	for _, p := range []string{"%2B1201", "%2B44"} {
		expect(t, "A removes "+p, f.do(t, "DELETE", "/api/dnc/rules/"+p+"?orgId="+orgB, tokA, ""), 200,
			ok(t, dnchttp.MsgRuleRemoved, map[string]string{"rule": "+" + strings.TrimPrefix(p, "%2B")}))
	}
	// B's rules do not block A's numbers.
	expect(t, "A's check", f.do(t, "POST", "/api/dnc/check", tokA, `{"phoneNumbers": ["12015550123"], "orgId": "org-b"}`), 200,
		ok(t, dnchttp.MsgChecked, map[string]any{"results": []map[string]any{
			{"input": "12015550123", "phoneNumber": "+12015550123", "skip": false, "reason": "not_listed"}}}))
	// A's own rule, of the same prefix, is A's.
	expect(t, "A adds a rule", f.do(t, "POST", "/api/dnc/rules", tokA, `{"prefix": "+1201", "orgId": "org-b"}`), 200,
		ok(t, dnchttp.MsgRuleAdded, map[string]string{"rule": "+1201"}))
	expect(t, "A's rules", f.do(t, "GET", "/api/dnc/rules", tokA, ""), 200, ok(t, dnchttp.MsgRules, map[string]any{"rules": []string{"+1201"}}))
	r := f.do(t, "GET", "/api/dnc/history", tokA, "")
	evs, _ := r.body["data"].(map[string]any)["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["actor"] != actorA || evs[0].(map[string]any)["action"] != "rule_add" {
		t.Errorf("A's history = %s; want only A's rule_add, by %s", r.raw, actorA)
	}
	if after := f.keysOf(t, orgB); after != before {
		t.Errorf("org-a's requests changed org-b:\nbefore %s\nafter %s", before, after)
	}
	// B still sees its own, all by its actor.
	expect(t, "B's rules", f.do(t, "GET", "/api/dnc/rules", tokB, ""), 200, ok(t, dnchttp.MsgRules, map[string]any{"rules": []string{"+1201", "+44"}}))
	r = f.do(t, "GET", "/api/dnc/history", tokB, "")
	evs, _ = r.body["data"].(map[string]any)["events"].([]any)
	if len(evs) != 4 {
		t.Errorf("B's history = %s; want B's 4 events", r.raw)
	}
	for _, e := range evs {
		if e.(map[string]any)["actor"] != actorB {
			t.Errorf("B's event %v: want actor %q", e, actorB)
		}
	}
}

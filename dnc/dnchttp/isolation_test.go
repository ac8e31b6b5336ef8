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
	keysOfB := func() string { // every key of org-b and its value, as stored
		t.Helper()
		var b strings.Builder
		for _, line := range strings.Split(f.dump(t), "\n") {
			if strings.Contains(line, ":{"+orgB+"}:") {
				b.WriteString(line + "\n")
			}
		}
		if b.Len() == 0 {
			t.Fatal("org-b has no keys")
		}
		return b.String()
	}
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

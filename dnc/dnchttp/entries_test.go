package dnchttp_test

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
)

func TestAdd(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)

	r := f.do(t, "POST", "/api/dnc/add", tokA,
		`{"phoneNumber": "12125551234", "type": "complaint", "batchId": "b-1", "requestUUID": "REQ-1", "orgId": "org-b", "extra": {"x": 1}}`)
	stored, err := f.enf.Entry(ctx, orgA, "+12125551234")
	if err != nil {
		t.Fatalf("Entry after add: %v", err)
	}
	want := entry{ID: stored.ID, PhoneNumber: "+12125551234", Type: "complaint", OrgID: orgA, BatchID: "b-1",
		RequestUUID: "REQ-1", CreatedAt: "2026-01-02T03:04:05.006Z"}
	expect(t, "add", r, 200, ok(t, dnchttp.MsgAdded, want))
	if len(stored.ID) != 24 {
		t.Errorf("stored id %q; want 24 hex digits", stored.ID)
	}
	if n, _ := f.enf.Count(ctx, orgB); n != 0 {
		t.Errorf("org-b has %d entries; the body's orgId must be ignored", n)
	}
	if skip, err := f.enf.ShouldSkip(ctx, orgA, "(212) 555-1234"); !skip || err != nil {
		t.Errorf("ShouldSkip after add = %v, %v; want true, nil", skip, err)
	}

	// Optional fields may be absent or null; the number may carry formatting.
	r = f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": " +44 20 7946 0958 ", "type": null}`)
	stored, err = f.enf.Entry(ctx, orgA, "+442079460958")
	if err != nil {
		t.Fatalf("Entry after add: %v", err)
	}
	expect(t, "add without metadata", r, 200, ok(t, dnchttp.MsgAdded,
		entry{ID: stored.ID, PhoneNumber: "+442079460958", OrgID: orgA, CreatedAt: "2026-01-02T03:04:06.006Z"}))

	long := strings.Repeat("x", dnc.MaxMetaLen+1)
	for _, tc := range []struct{ body, msg string }{
		// Already listed, in any format: reported, never duplicated.
		{`{"phoneNumber": "12125551234"}`, dnchttp.MsgExists},
		{`{"phoneNumber": "+1 (212) 555-1234", "type": "other"}`, dnchttp.MsgExists},
		{`{"phoneNumber": "tel:+1-212-555-1234"}`, dnchttp.MsgExists},
		{`{"phoneNumber": "1.212.555.1234 ext. 9"}`, dnchttp.MsgExists},
		{`{"phoneNumber": "442079460958"}`, dnchttp.MsgExists},
		// Not valid numbers, as the hosted product reads them.
		{`{"phoneNumber": "2125551234"}`, `phoneNumber "2125551234" is not a valid phone number (read with its country code as "+2125551234")`},
		{`{"phoneNumber": "(212) 555-1234"}`, `phoneNumber "(212) 555-1234" is not a valid phone number (read with its country code as "(+212) 555-1234")`},
		{`{"phoneNumber": "junk"}`, `phoneNumber "junk" is not a valid phone number (read with its country code as "junk")`},
		{`{"phoneNumber": "911"}`, `phoneNumber "911" is not a valid phone number (read with its country code as "+911")`},
		{`{"phoneNumber": "   "}`, "phoneNumber must not be empty"},
		{`{"phoneNumber": ""}`, "phoneNumber must not be empty"},
		// Shape of the body.
		{`{}`, "phoneNumber is required"},
		{`{"PhoneNumber": "14155552671"}`, "phoneNumber is required"},
		{`{"phoneNumber": null}`, "phoneNumber must be a JSON string, got null"},
		{`{"phoneNumber": 14155552671}`, "phoneNumber must be a JSON string, got a number"},
		{`{"phoneNumber": ["14155552671"]}`, "phoneNumber must be a JSON string, got an array"},
		{`{"phoneNumber": "14155552671", "type": 5}`, "type must be a JSON string, got a number"},
		{`{"phoneNumber": "14155552671", "batchId": {}}`, "batchId must be a JSON string, got an object"},
		{`{"phoneNumber": "14155552671", "requestUUID": true}`, "requestUUID must be a JSON string, got a boolean"},
		{`{"phoneNumber": "14155552671", "type": "` + long + `"}`, "dnc: invalid argument: type: want valid UTF-8 of at most 256 bytes"},
		{`{"phoneNumber": "14155552671", "batchId": "` + long + `"}`, "dnc: invalid argument: batchId: want valid UTF-8 of at most 256 bytes"},
		{`{"phoneNumber": "14155552671", "requestUUID": "` + long + `"}`, "dnc: invalid argument: requestUUID: want valid UTF-8 of at most 256 bytes"},
		// The limit counts bytes, as sent: 128 two-byte characters are 256 bytes, escaped or not.
		{`{"phoneNumber": "14155552671", "type": "` + strings.Repeat("é", 128) + `x"}`, "dnc: invalid argument: type: want valid UTF-8 of at most 256 bytes"},
		{`{"phoneNumber": "14155552671", "type": "` + strings.Repeat(`\u00e9`, 128) + `x"}`, "dnc: invalid argument: type: want valid UTF-8 of at most 256 bytes"},
		// Text is stored exactly as sent, or not at all: no U+FFFD in place of what was sent.
		{"{\"phoneNumber\": \"14155552671\", \"type\": \"a\xffb\"}", "type is not valid UTF-8"},
		{"{\"phoneNumber\": \"14155552671\", \"batchId\": \"" + strings.Repeat("\xff", 200) + "\"}", "batchId is not valid UTF-8"},
		{"{\"phoneNumber\": \"14155552671\", \"requestUUID\": \"\xed\xa0\x80\"}", "requestUUID is not valid UTF-8"}, // an encoded surrogate
		{"{\"phoneNumber\": \"1415555\xc0\xb02671\"}", "phoneNumber is not valid UTF-8"},
		{`{"phoneNumber": "14155552671", "type": "a\ud800b"}`, `type holds an unpaired UTF-16 surrogate escape (\ud800)`},
		{`{"phoneNumber": "14155552671", "type": "\uDE00"}`, `type holds an unpaired UTF-16 surrogate escape (\uDE00)`},
		{`{"phoneNumber": "14155552671", "type": "\ud83d"}`, `type holds an unpaired UTF-16 surrogate escape (\ud83d)`},
		{`{"phoneNumber": "14155552671", "type": "\ud83d\n\ude00"}`, `type holds an unpaired UTF-16 surrogate escape (\ud83d)`},
		{`{"phoneNumber": "14155552671", "type": "\ud83d\ud83d\ude00"}`, `type holds an unpaired UTF-16 surrogate escape (\ud83d)`},
		{`{"phoneNumber": "14155552671", "phoneNumber": "14155552672"}`, `request body: key "phoneNumber" is given more than once`},
		{`{"phoneNumber": "14155552671"} []`, "request body: trailing data after the JSON object"},
		{`{"phoneNumber": "14155552671"`, "request body: malformed JSON: unexpected end of input"},
		{`["14155552671"]`, "request body must be a JSON object"},
	} {
		before := f.dump(t)
		expect(t, tc.body, f.do(t, "POST", "/api/dnc/add", tokA, tc.body), 400, failed(400, tc.msg))
		f.unchanged(t, tc.body, before)
	}
	if n, _ := f.enf.Count(ctx, orgA); n != 2 {
		t.Errorf("org-a has %d entries; want 2", n)
	}

	// Text at the limits is stored exactly: escapes, surrogate pairs, an escaped
	// backslash before a "u", and 256 bytes.
	for _, tc := range []struct{ number, typ, want string }{
		{"14155552671", `caf\u00e9 \ud83d\ude00 \uD83D\uDE00 😀 \\ud800`, `café 😀 😀 😀 \ud800`},
		{"14155552672", strings.Repeat("é", 128), strings.Repeat("é", 128)},
		{"14155552673", strings.Repeat("x", dnc.MaxMetaLen), strings.Repeat("x", dnc.MaxMetaLen)},
	} {
		r := f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "`+tc.number+`", "type": "`+tc.typ+`"}`)
		stored, err := f.enf.Entry(ctx, orgA, "+"+tc.number)
		if err != nil {
			t.Fatalf("Entry after add: %v", err)
		}
		if stored.Type != tc.want {
			t.Errorf("type %s stored as %q; want %q", tc.typ, stored.Type, tc.want)
		}
		expect(t, "add with type "+tc.typ, r, 200, ok(t, dnchttp.MsgAdded, toEntry(orgA, stored)))
	}
}

// addN lists n numbers for org, +1 212 555 01xx, the i-th with type "complaint" when i
// is even else "customer_request", and request UUID "REQ-i", and returns their entries
// newest first, as the list shows them.
func addN(t *testing.T, f *fixture, org string, n int) []entry {
	t.Helper()
	ctx := ctxT(t)
	out := make([]entry, n)
	for i := range n {
		typ := "customer_request"
		if i%2 == 0 {
			typ = "Complaint"
		}
		e, err := f.enf.AddEntry(ctx, org, fmt.Sprintf("+1212555%04d", 100+i), dnc.Meta{Type: typ, RequestUUID: fmt.Sprintf("REQ-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		out[n-1-i] = toEntry(org, e)
	}
	return out
}

func TestList(t *testing.T) {
	f := newFixture(t)
	all := addN(t, f, orgA, 12) // all[0] is the newest: +12125550111, REQ-11
	addN(t, f, orgB, 3)         // never shown to org-a
	page := func(entries []entry, total, page, limit, totalPages int) any {
		if entries == nil {
			entries = []entry{}
		}
		return map[string]any{"dncList": entries, "pagination": map[string]int{
			"total": total, "page": page, "limit": limit, "totalPages": totalPages}}
	}
	byNumber := slices.Clone(all) // all is newest first; the numbers were listed in number order
	slices.Reverse(byNumber)
	for _, tc := range []struct {
		query string
		data  any
	}{
		{"", page(all[:10], 12, 1, 10, 2)},
		{"?page=1&limit=10", page(all[:10], 12, 1, 10, 2)},
		{"?page=2", page(all[10:], 12, 2, 10, 2)},
		{"?page=3", page(nil, 12, 3, 10, 2)}, // past the end: empty, with the true total
		{"?page=1000000", page(nil, 12, 1000000, 10, 2)},
		{"?page=99999999999999999", page(nil, 12, 99999999999999999, 10, 2)},
		{"?page=99999999999999999999", page(nil, 12, math.MaxInt64, 10, 2)}, // beyond int64: still past the end
		{"?limit=5&page=3", page(all[10:], 12, 3, 5, 3)},
		{"?limit=1", page(all[:1], 12, 1, 1, 12)},
		{"?limit=100", page(all, 12, 1, 100, 1)},
		{"?limit=101", page(all, 12, 1, 100, 1)}, // capped, and pagination.limit says so
		{"?limit=1000000000000000000000000", page(all, 12, 1, 100, 1)},
		{"?page=01&limit=007", page(all[:7], 12, 1, 7, 2)},
		{"?search=COMPLAINT", page([]entry{all[1], all[3], all[5], all[7], all[9], all[11]}, 6, 1, 10, 1)},
		{"?search=complaint&limit=2&page=2", page([]entry{all[5], all[7]}, 6, 2, 2, 3)},
		{"?search=req-11", page(all[:1], 1, 1, 10, 1)},
		{"?search=212-555-0103", page([]entry{all[8]}, 1, 1, 10, 1)},
		{"?search=5550103", page(nil, 0, 1, 10, 0)},                      // digits match from the start of the number only
		{"?search=%2B121255501", page(byNumber[:10], 12, 1, 10, 2)},      // "+1212..." escaped; numbers in number order
		{"?search=+121255501&page=2", page(byNumber[10:], 12, 2, 10, 2)}, // unescaped "+" reads as a space: trimmed
		{"?search=nothing", page(nil, 0, 1, 10, 0)},
		{"?search=", page(all[:10], 12, 1, 10, 2)},
		{"?orgId=org-b&unknown=1", page(all[:10], 12, 1, 10, 2)}, // the org comes from the token only
	} {
		expect(t, "list"+tc.query, f.do(t, "GET", "/api/dnc/list"+tc.query, tokA, ""), 200, ok(t, dnchttp.MsgListed, tc.data))
	}
	for _, tc := range []struct{ query, msg string }{
		{"?page=0", `page must be an integer of at least 1, got "0"`},
		{"?page=-1", `page must be an integer of at least 1, got "-1"`},
		{"?page=+1", `page must be an integer of at least 1, got " 1"`},
		{"?page=%2B1", `page must be an integer of at least 1, got "+1"`},
		{"?page=1.5", `page must be an integer of at least 1, got "1.5"`},
		{"?page=abc", `page must be an integer of at least 1, got "abc"`},
		{"?page=", `page must be an integer of at least 1, got ""`},
		{"?page=1e3", `page must be an integer of at least 1, got "1e3"`},
		{"?page=-99999999999999999999", `page must be an integer of at least 1, got "-99999999999999999999"`},
		{"?page=00", `page must be an integer of at least 1, got "00"`},
		{"?limit=0", `limit must be an integer of at least 1, got "0"`},
		{"?limit=ten", `limit must be an integer of at least 1, got "ten"`},
		{"?limit=", `limit must be an integer of at least 1, got ""`},
		{"?page=1&page=2", "page is given more than once"},
		{"?limit=1&limit=1", "limit is given more than once"},
		{"?search=a&search=b", "search is given more than once"},
		{"?search=" + strings.Repeat("x", 257), "search must be at most 256 bytes, got 257"},
		// Malformed query strings are not read around.
		{"?page=2%", `malformed query string: invalid URL escape "%"`},
		{"?page=%zz", `malformed query string: invalid URL escape "%zz"`},
		{"?search=%zz", `malformed query string: invalid URL escape "%zz"`},
		{"?limit=%", `malformed query string: invalid URL escape "%"`},
		{"?limit=5;x", "malformed query string: invalid semicolon separator in query"},
		{"?unknown=%1&page=1", `malformed query string: invalid URL escape "%1"`},
	} {
		expect(t, "list"+tc.query, f.do(t, "GET", "/api/dnc/list"+tc.query, tokA, ""), 400, failed(400, tc.msg))
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	mine := addN(t, f, orgA, 2)
	for _, tc := range []struct {
		id   string
		code int
		msg  string
	}{
		{"xyz", 400, `id "xyz" is malformed: want the 24-hex-digit _id that the list returns`},
		{strings.ToUpper(mine[0].ID), 400, fmt.Sprintf("id %q is malformed: want the 24-hex-digit _id that the list returns", strings.ToUpper(mine[0].ID))},
		{mine[0].ID + "0", 400, fmt.Sprintf("id %q is malformed: want the 24-hex-digit _id that the list returns", mine[0].ID+"0")},
		{url.PathEscape("+12125550100"), 400, `id "+12125550100" is malformed: want the 24-hex-digit _id that the list returns`},
		{"%2E%2E", 400, `id ".." is malformed: want the 24-hex-digit _id that the list returns`},
		{"0123456789abcdef01234567", 404, "DNC record not found"},
	} {
		before := f.dump(t)
		expect(t, "delete "+tc.id, f.do(t, "DELETE", "/api/dnc/delete/"+tc.id, tokA, ""), tc.code, failed(tc.code, tc.msg))
		f.unchanged(t, "delete "+tc.id, before)
	}

	expect(t, "delete", f.do(t, "DELETE", "/api/dnc/delete/"+mine[0].ID, tokA, ""), 200,
		ok(t, dnchttp.MsgDeleted, map[string]string{"_id": mine[0].ID, "phoneNumber": mine[0].PhoneNumber}))
	if skip, err := f.enf.ShouldSkip(ctx, orgA, mine[0].PhoneNumber); skip || err != nil {
		t.Errorf("ShouldSkip after delete = %v, %v; want false, nil", skip, err)
	}
	if _, err := f.enf.EntryByID(ctx, orgA, mine[0].ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("EntryByID after delete = %v; want ErrNotFound", err)
	}
	before := f.dump(t)
	expect(t, "delete again", f.do(t, "DELETE", "/api/dnc/delete/"+mine[0].ID, tokA, ""), 404, failed(404, "DNC record not found"))
	f.unchanged(t, "delete again", before)
	expect(t, "list after delete", f.do(t, "GET", "/api/dnc/list", tokA, ""), 200, ok(t, dnchttp.MsgListed, map[string]any{
		"dncList": mine[1:], "pagination": map[string]int{"total": 1, "page": 1, "limit": 10, "totalPages": 1}}))
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	if _, err := f.enf.Add(ctx, orgA, "+12125551234", "+442079460958"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Input       string `json:"input"`
		PhoneNumber string `json:"phoneNumber"`
		Skip        bool   `json:"skip"`
		Reason      string `json:"reason"`
	}
	check := func(body string, want ...result) {
		t.Helper()
		expect(t, body, f.do(t, "POST", "/api/dnc/check", tokA, body), 200,
			ok(t, dnchttp.MsgChecked, map[string]any{"results": want}))
	}
	check(`{"phoneNumbers": ["12125551234", "+1 (212) 555-1234", "14155552671", "2125551234", "junk", "tel:12125551234", "44 20 7946 0958", ""]}`,
		result{"12125551234", "+12125551234", true, "listed"},
		result{"+1 (212) 555-1234", "+12125551234", true, "listed"},
		result{"14155552671", "+14155552671", false, "not_listed"},
		result{"2125551234", "", true, "invalid_number"},
		result{"junk", "", true, "invalid_number"},
		result{"tel:12125551234", "+12125551234", true, "listed"},
		result{"44 20 7946 0958", "+442079460958", true, "listed"},
		result{"", "", true, "invalid_number"},
	)
	// With a region, numbers read in its national format.
	check(`{"phoneNumbers": ["020 7946 0958", "(212) 555-1234", "+1 212 555 1234"], "region": "gb"}`,
		result{"020 7946 0958", "+442079460958", true, "listed"},
		result{"(212) 555-1234", "", true, "invalid_number"},
		result{"+1 212 555 1234", "+12125551234", true, "listed"},
	)
	check(`{"phoneNumbers": ["(212) 555-1234", "2125551234", "415 555 2671"], "region": "US"}`,
		result{"(212) 555-1234", "+12125551234", true, "listed"},
		result{"2125551234", "+12125551234", true, "listed"},
		result{"415 555 2671", "+14155552671", false, "not_listed"},
	)
	check(`{"phoneNumbers": ["12125551234"], "region": null}`, result{"12125551234", "+12125551234", true, "listed"})
	if err := f.enf.SetEnabled(ctx, orgA, false); err != nil {
		t.Fatal(err)
	}
	check(`{"phoneNumbers": ["12125551234", "x"]}`,
		result{"12125551234", "+12125551234", false, "disabled"},
		result{"x", "", true, "invalid_number"},
	)

	max := make([]string, dnchttp.MaxCheckNumbers)
	for i := range max {
		max[i] = fmt.Sprintf("%q", fmt.Sprintf("1415555%04d", i))
	}
	r := f.do(t, "POST", "/api/dnc/check", tokA, `{"phoneNumbers": [`+strings.Join(max, ",")+`]}`)
	if res, _ := r.body["data"].(map[string]any)["results"].([]any); r.code != 200 || len(res) != dnchttp.MaxCheckNumbers {
		t.Errorf("check of %d numbers: status %d, %d results", dnchttp.MaxCheckNumbers, r.code, len(res))
	}

	tooMany := `{"phoneNumbers": [` + strings.Join(append(max, `"14155552671"`), ",") + `]}`
	for _, tc := range []struct{ body, msg string }{
		{`{"phoneNumbers": []}`, "phoneNumbers must hold 1 to 10000 numbers, got 0"},
		{tooMany, "phoneNumbers must hold 1 to 10000 numbers, got 10001"},
		{`{}`, "phoneNumbers is required"},
		{`{"phonenumbers": ["12125551234"]}`, "phoneNumbers is required"},
		{`{"phoneNumbers": null}`, "phoneNumbers must be a JSON array of strings, got null"},
		{`{"phoneNumbers": "12125551234"}`, "phoneNumbers must be a JSON array of strings, got a string"},
		{`{"phoneNumbers": ["12125551234", 14155552671]}`, "phoneNumbers[1] must be a JSON string, got a number"},
		{`{"phoneNumbers": [null]}`, "phoneNumbers[0] must be a JSON string, got null"},
		{`{"phoneNumbers": ["12125551234"], "region": "XX"}`, `region "XX" is not a known ISO 3166-1 alpha-2 region code`},
		{`{"phoneNumbers": ["12125551234"], "region": "USA"}`, `region "USA" is not a known ISO 3166-1 alpha-2 region code`},
		{`{"phoneNumbers": ["12125551234"], "region": 1}`, "region must be a JSON string, got a number"},
		{`{"phoneNumbers": ["1"], "phoneNumbers": ["2"]}`, `request body: key "phoneNumbers" is given more than once`},
		{`{"phoneNumbers": ["12125551234"]} 1`, "request body: trailing data after the JSON object"},
		{"{\"phoneNumbers\": [\"12125551234\", \"1415\xff5552671\"]}", "phoneNumbers[1] is not valid UTF-8"},
		{`{"phoneNumbers": ["12125551234", "\udfff"]}`, `phoneNumbers[1] holds an unpaired UTF-16 surrogate escape (\udfff)`},
		{"{\"phoneNumbers\": [\"12125551234\"], \"region\": \"U\xffS\"}", "region is not valid UTF-8"},
	} {
		what := tc.body
		if len(what) > 80 {
			what = what[:80] + "..."
		}
		expect(t, what, f.do(t, "POST", "/api/dnc/check", tokA, tc.body), 400, failed(400, tc.msg))
	}
}

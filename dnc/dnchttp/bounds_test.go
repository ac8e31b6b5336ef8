package dnchttp_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Metadata holding a control or bidirectional formatting character is 400, naming the
// field, the character and where it is, and nothing is written.
func TestAddRejectsControlCharacters(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	for _, c := range []struct {
		name, s string
		at      int  // byte offset of the character
		r       rune // the character
	}{
		{"NUL", "a\x00b", 1, 0},
		{"ESC", "\x1b[2Jcomplaint", 0, 0x1b},
		{"CR", "complaint\r", 9, '\r'},
		{"LF", "complaint\nforged: line", 9, '\n'},
		{"tab", "a\tb", 1, '\t'},
		{"DEL", "a\x7fb", 1, 0x7f},
		{"C1 NEL", "a\u0085b", 1, 0x85},
		{"C1 CSI", "ab\u009b", 2, 0x9b},
		{"ALM", "a\u061cb", 1, 0x061c},
		{"LRM", "a\u200eb", 1, 0x200e},
		{"RLM", "a\u200fb", 1, 0x200f},
		{"LRE", "a\u202ab", 1, 0x202a},
		{"RLO", "abc\u202e", 3, 0x202e},
		{"LRI", "a\u2066b", 1, 0x2066},
		{"PDI", "é\u2069b", 2, 0x2069},
	} {
		for _, field := range []string{"type", "batchId", "requestUUID"} {
			body := map[string]string{"phoneNumber": "12125551234", "type": "complaint", "batchId": "B-1", "requestUUID": "R-1"}
			body[field] = c.s
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			msg := fmt.Sprintf("%s holds the control character %U at byte %d: control and bidirectional formatting characters are not allowed", field, c.r, c.at)
			expect(t, c.name+" in "+field, f.do(t, "POST", "/api/dnc/add", tokA, string(b)), 400, failed(400, msg))
		}
	}
	f.unchanged(t, "adds with control characters", before)
	// Text around them is fine: letters of any script, emoji, punctuation.
	r := f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "12125551234", "type": "plainte — ⚠️ عميل", "batchId": "B/1:2", "requestUUID": "R 1"}`)
	if r.code != 200 {
		t.Errorf("add with printable metadata: %d %s", r.code, r.raw)
	}
}

// No answer repeats more than the first 64 characters of an input, however large, so a
// megabyte sent is never a megabyte (or, escaped, several) sent back.
func TestHugeInputsAreNotEchoed(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	huge := strings.Repeat("<", 900_000) // sent as is; escaped as \u003c, six bytes each, if echoed
	digits := strings.Repeat("9", 100_000)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		quoted                   string // what the answer holds of the input
	}{
		{"add", "POST", "/api/dnc/add", `{"phoneNumber": "` + huge + `"}`, 400, `"` + huge[:64] + `"... (900000 bytes)`},
		{"check region", "POST", "/api/dnc/check", `{"phoneNumbers": ["1"], "region": "` + huge + `"}`, 400, `"` + huge[:64] + `"... (900000 bytes)`},
		{"check number", "POST", "/api/dnc/check", `{"phoneNumbers": ["` + huge + `"]}`, 200, huge[:64] + "..."},
		{"list page", "GET", "/api/dnc/list?page=" + digits + "x", "", 400, `"` + digits[:64] + `"... (100001 bytes)`},
		{"list limit", "GET", "/api/dnc/list?limit=" + url.QueryEscape(huge[:100_000]), "", 400, `"` + huge[:64] + `"... (100000 bytes)`},
		{"delete", "DELETE", "/api/dnc/delete/" + digits, "", 400, `"` + digits[:64] + `"... (100000 bytes)`},
		{"add expiresAt", "POST", "/api/dnc/add", `{"phoneNumber": "12125551234", "expiresAt": "` + huge + `"}`, 400, `"` + huge[:64] + `"... (900000 bytes)`},
		{"add rule", "POST", "/api/dnc/rules", `{"prefix": "` + huge + `"}`, 400, `"` + huge[:64] + `"... (900000 bytes)`},
		{"remove rule", "DELETE", "/api/dnc/rules/" + digits + "x", "", 400, `"` + digits[:64] + `"... (100001 bytes)`},
		{"history since", "GET", "/api/dnc/history?since=" + digits, "", 400, `"` + digits[:64] + `"... (100000 bytes)`},
		{"history actions", "GET", "/api/dnc/history?actions=add," + digits, "", 400, `"` + digits[:64] + `"... (100000 bytes)`},
		{"history actions empty", "GET", "/api/dnc/history?actions=,," + digits, "", 400, `"` + ",," + digits[:62] + `"... (100002 bytes)`},
	} {
		r := f.do(t, tc.method, tc.path, tokA, tc.body)
		if r.code != tc.code || len(r.raw) > 4096 { // 64 characters, quoted twice in two fields, escaped: well under 4 KiB
			t.Errorf("%s: status %d, %d bytes; want %d in at most 4 KiB\n%.400s", tc.name, r.code, len(r.raw), tc.code, r.raw)
			continue
		}
		got, _ := r.body["message"].(string)
		if tc.code == 200 {
			res := r.body["data"].(map[string]any)["results"].([]any)[0].(map[string]any)
			got, _ = res["input"].(string)
			if got != tc.quoted || res["reason"] != "invalid_number" || res["skip"] != true {
				t.Errorf("%s: result %v; want input %.80s, skipped as invalid_number", tc.name, res, tc.quoted)
			}
		} else if !strings.Contains(got, tc.quoted) {
			t.Errorf("%s: the message does not quote %.100s:\n%.400s", tc.name, tc.quoted, got)
		}
	}
	f.unchanged(t, "requests with huge inputs", before)
}

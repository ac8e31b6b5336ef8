package dnchttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc/dnchttp"
)

// endpoints lists every endpoint with a request that it would accept.
var endpoints = []struct{ method, path, body string }{
	{"POST", "/api/dnc/enable-disable", `{"enable": false}`},
	{"POST", "/api/dnc/add", `{"phoneNumber": "14155552671"}`},
	{"GET", "/api/dnc/list", ""},
	{"DELETE", "/api/dnc/delete/0123456789abcdef01234567", ""},
	{"GET", "/api/dnc/status", ""},
	{"POST", "/api/dnc/check", `{"phoneNumbers": ["14155552671"]}`},
	{"GET", "/api/dnc/history", ""},
	{"GET", "/api/dnc/rules", ""},
	{"POST", "/api/dnc/rules", `{"prefix": "+1201"}`},
	{"DELETE", "/api/dnc/rules/%2B1201", ""},
}

func TestUnknownPathAndWrongMethod(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	notFound := failed(404, "not found: no such endpoint")
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/", 404, ""},
		{"GET", "/api/dnc", 404, ""},
		{"GET", "/api/dnc/unknown", 404, ""},
		{"POST", "/api/dnc/enable-disable/", 404, ""},
		{"GET", "/api/dnc/list/", 404, ""},
		{"GET", "/api/dnc//list", 404, ""},     // the mux would redirect to the clean path
		{"GET", "/api/dnc/x/../list", 404, ""}, // likewise
		{"DELETE", "/api/dnc/delete/", 404, ""},
		{"DELETE", "/api/dnc/delete/a/b", 404, ""},
		{"GET", "/API/DNC/LIST", 404, ""},
		{"GET", "/api/dnc/enable-disable", 405, "POST"},
		{"PUT", "/api/dnc/enable-disable", 405, "POST"},
		{"GET", "/api/dnc/add", 405, "POST"},
		{"POST", "/api/dnc/list", 405, "GET, HEAD"},
		{"DELETE", "/api/dnc/list", 405, "GET, HEAD"},
		{"GET", "/api/dnc/delete/0123456789abcdef01234567", 405, "DELETE"},
		{"POST", "/api/dnc/delete/x", 405, "DELETE"},
		{"POST", "/api/dnc/status", 405, "GET, HEAD"},
		{"GET", "/api/dnc/check", 405, "POST"},
		{"PATCH", "/api/dnc/check", 405, "POST"},
		{"POST", "/api/dnc/history", 405, "GET, HEAD"},
		{"GET", "/api/dnc/history/", 404, ""},
		{"PUT", "/api/dnc/rules", 405, "GET, HEAD, POST"},
		{"DELETE", "/api/dnc/rules", 405, "GET, HEAD, POST"},
		{"GET", "/api/dnc/rules/%2B1201", 405, "DELETE"},
		{"POST", "/api/dnc/rules/1201", 405, "DELETE"},
		{"DELETE", "/api/dnc/rules/", 404, ""},
		{"DELETE", "/api/dnc/rules/1201/2", 404, ""},
	} {
		// The same answer whatever the token: none, unknown, valid, of an org without users.
		for _, tok := range []string{"", "nope", tokA, tokC} {
			what := tc.method + " " + tc.path + " token " + tok
			r := f.do(t, tc.method, tc.path, tok, `{"enable": true}`)
			want := notFound
			if tc.code == 405 {
				want = failed(405, "method "+tc.method+" is not allowed on this path; allowed: "+tc.allow)
			}
			expect(t, what, r, tc.code, want)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("%s: Allow %q; want %q", what, got, tc.allow)
			}
			if loc := r.header.Get("Location"); loc != "" {
				t.Errorf("%s: Location %q; want none", what, loc)
			}
		}
	}
	f.unchanged(t, "unknown paths and wrong methods", before)
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	malformed := failed(401, `missing or malformed Authorization header: want "Bearer <token>"`)
	invalid := failed(401, "invalid token")
	for _, ep := range endpoints {
		for _, tc := range []struct {
			name    string
			headers []string // Authorization header values
			want    map[string]any
		}{
			{"none", nil, malformed},
			{"empty", []string{""}, malformed},
			{"scheme only", []string{"Bearer"}, malformed},
			{"scheme and space", []string{"Bearer "}, malformed},
			{"basic", []string{"Basic dG9rZW4tb2YtYTo="}, malformed},
			{"no scheme", []string{tokA}, malformed},
			{"two words", []string{"Bearer " + tokA + " x"}, malformed},
			{"two headers", []string{"Bearer " + tokA, "Bearer " + tokA}, malformed},
			{"unknown", []string{"Bearer nope"}, invalid},
			{"prefix of a token", []string{"Bearer " + tokA[:len(tokA)-1]}, invalid},
			{"token plus a byte", []string{"Bearer " + tokA + "x"}, invalid},
			{"wrong case", []string{"Bearer " + strings.ToUpper(tokA)}, invalid},
		} {
			// A bad body too: the token is checked first.
			req, err := http.NewRequest(ep.method, f.srv.URL+ep.path, strings.NewReader(`{"enable": "junk"`))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.headers {
				req.Header.Add("Authorization", h)
			}
			what := ep.method + " " + ep.path + " " + tc.name
			r := f.send(t, req)
			expect(t, what, r, 401, tc.want)
			if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("%s: WWW-Authenticate %q; want Bearer", what, got)
			}
		}
	}
	f.unchanged(t, "unauthorized requests", before)

	// The scheme is case-insensitive (RFC 9110).
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/dnc/status", nil)
	req.Header.Set("Authorization", "bearer "+tokA)
	expect(t, "lower-case scheme", f.send(t, req), 200, ok(t, dnchttp.MsgStatus, map[string]bool{"enabled": true}))
}

func TestOrgWithoutUsers(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	for _, ep := range endpoints {
		for _, body := range []string{ep.body, `{"enable": "junk"`} { // before the request's own checks
			expect(t, ep.method+" "+ep.path+" "+body, f.do(t, ep.method, ep.path, tokC, body), 404,
				failed(404, "No users found for this organization"))
		}
	}
	f.unchanged(t, "requests of an org without users", before)
}

// badFields holds, for each endpoint that reads its body, a field it rejects with 400.
var badFields = map[string]string{
	"/api/dnc/enable-disable": `"enable": "true"`,
	"/api/dnc/add":            `"phoneNumber": 14155552671`,
	"/api/dnc/check":          `"phoneNumbers": "14155552671"`,
	"/api/dnc/rules":          `"prefix": 1201`,
}

// A body over the limit is 413 whatever it holds and wherever it is wrong, with a
// Content-Length or sent chunked: the whole body is read before any of it is looked at.
func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	before := f.dump(t)
	pad := `"pad": "` + strings.Repeat("x", dnchttp.MaxBodyBytes) + `"`
	tooLarge := failed(413, "request body too large: the limit is 1048576 bytes (1 MiB)")
	for _, ep := range endpoints {
		body := ep.body
		if body == "" {
			body = "{}"
		}
		fields := strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}") // "" for {}
		if fields != "" {
			fields = ", " + fields
		}
		bodies := []struct{ name, body string }{
			{"valid", "{" + pad + fields + "}"},
			{"malformed JSON first", `{"x": tru, ` + pad + fields + "}"},
			{"malformed JSON last", "{" + pad + fields + `, "x": tru}`},
			{"duplicated key first", `{"x": 1, "x": 2, ` + pad + fields + "}"},
			{"trailing data", "{" + pad + fields + "} x"},
			{"cut short", "{" + pad + fields},
		}
		if bad, ok := badFields[ep.path]; ok {
			bodies = append(bodies,
				struct{ name, body string }{"bad field first", "{" + bad + ", " + pad + "}"},
				struct{ name, body string }{"bad field last", "{" + pad + ", " + bad + "}"})
		}
		for _, b := range bodies {
			for _, chunked := range []bool{false, true} {
				var rd io.Reader = strings.NewReader(b.body)
				if chunked {
					rd = io.MultiReader(rd) // no Content-Length: sent chunked
				}
				req, err := http.NewRequest(ep.method, f.srv.URL+ep.path, rd)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tokA)
				what := ep.method + " " + ep.path + " oversize, " + b.name
				if chunked {
					what += ", chunked"
				} else if req.ContentLength <= dnchttp.MaxBodyBytes {
					t.Fatalf("%s: Content-Length %d; want over the limit", what, req.ContentLength)
				}
				r := f.send(t, req)
				expect(t, what, r, 413, tooLarge)
				if got := r.header.Get("Connection"); got != "close" {
					t.Errorf("%s: Connection %q; want close", what, got)
				}
			}
		}
	}
	f.unchanged(t, "oversize requests", before)

	// A body of exactly the limit is read.
	body := `{"enable": false}`
	body += strings.Repeat(" ", dnchttp.MaxBodyBytes-len(body))
	expect(t, "body of exactly 1 MiB", f.do(t, "POST", "/api/dnc/enable-disable", tokA, body), 200,
		ok(t, dnchttp.MsgSettingUpdated, nil))
	// One more byte of trailing white space is too large.
	before = f.dump(t)
	expect(t, "body of 1 MiB + 1", f.do(t, "POST", "/api/dnc/enable-disable", tokA, body+" "), 413, tooLarge)
	f.unchanged(t, "oversize request", before)
	// Within the limit, the same bad field is 400.
	for path, bad := range badFields {
		what := "POST " + path + " " + bad
		before := f.dump(t)
		r := f.do(t, "POST", path, tokA, "{"+bad+", "+`"pad": "`+strings.Repeat("x", 1000)+`"}`)
		if r.code != 400 || r.body["status"] != false {
			t.Errorf("%s: status %d %s; want 400", what, r.code, r.raw)
		}
		f.unchanged(t, what, before)
	}
}

// A body that cannot be read (here the client stalls past the server's ReadTimeout) is
// 400 on every endpoint, without the read error, which names the sockets; nothing is
// changed.
func TestBodyReadFailure(t *testing.T) {
	f := newFixture(t)
	slow := httptest.NewUnstartedServer(f.h)
	slow.Config.ReadTimeout = 200 * time.Millisecond
	slow.Start()
	t.Cleanup(slow.Close)
	g := *f
	g.srv = slow
	before := f.dump(t)
	for _, ep := range endpoints {
		body := ep.body
		if body == "" {
			body = `{"x": 1}`
		}
		pr, pw := io.Pipe()
		stop := make(chan struct{})
		go func() {
			// Half the body, then nothing until the answer has come.
			_, _ = pw.Write([]byte(body[:len(body)/2]))
			<-stop
			_ = pw.CloseWithError(errors.New("the test is done"))
		}()
		req, err := http.NewRequest(ep.method, slow.URL+ep.path, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tokA)
		what := ep.method + " " + ep.path + " with a stalled body"
		r := g.send(t, req)
		close(stop)
		expect(t, what, r, 400, failed(400, "could not read the request body"))
		for _, leak := range []string{"127.0.0.1", "tcp", "timeout"} {
			if strings.Contains(r.raw, leak) {
				t.Errorf("%s: the answer leaks %q: %s", what, leak, r.raw)
			}
		}
	}
	f.unchanged(t, "requests with stalled bodies", before)
}

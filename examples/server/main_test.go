package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dncguard/dncguard/dnc"
)

const token = "test-token"

// server is examples/server's handler, as setup builds it from the environment, on an
// httptest.Server.
type server struct {
	*httptest.Server
	logs *syncBuffer
}

// start runs setup with DNC_API_TOKENS giving token to org acme, on the embedded Redis.
func start(t *testing.T) *server {
	t.Helper()
	return startWith(t, map[string]string{"DNC_API_TOKENS": token + "=acme"})
}

// startWith runs setup with the environment env, on the embedded Redis.
func startWith(t *testing.T, env map[string]string) *server {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	_, h, closeRedis, err := setup(context.Background(), nil, lookup, io.Discard, log)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(closeRedis)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{Server: srv, logs: logs}
}

// response is one answer of the server.
type response struct {
	code   int
	header http.Header
	raw    string
}

// do sends one request with the token; body "" sends none.
func (s *server) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return s.doAs(t, token, method, path, body)
}

// doAs sends one request with the token tok; body "" sends none.
func (s *server) doAs(t *testing.T, tok, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// Never follow a redirect: a redirect is a wrong answer here.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, raw: string(b)}
}

// expect fails the test unless r has status code and is exactly the JSON envelope want.
func expect(t *testing.T, what string, r response, code int, want map[string]any) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: status %d; want %d\nbody %s", what, r.code, code, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type %q; want application/json; charset=utf-8", what, ct)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(r.raw))
	if err := dec.Decode(&got); err != nil || dec.More() {
		t.Errorf("%s: body is not one JSON object: %v\n%s", what, err, r.raw)
		return
	}
	if !reflect.DeepEqual(got, want) {
		w, _ := json.Marshal(want)
		t.Errorf("%s: envelope\n got %s\nwant %s", what, strings.TrimSpace(r.raw), w)
	}
}

func failed(code int, msg string) map[string]any {
	return map[string]any{"message": msg, "status": false, "code": float64(code), "errorMessage": msg}
}

func ok(msg string, data any) map[string]any {
	env := map[string]any{"message": msg, "status": true, "code": float64(200), "errorMessage": ""}
	if data != nil {
		env["data"] = data
	}
	return env
}

// enabled fails the test unless the org's DNC switch, read through the API, is want.
func (s *server) enabled(t *testing.T, what string, want bool) {
	t.Helper()
	expect(t, what+": status", s.do(t, "GET", "/api/dnc/status", ""), 200,
		ok("DNC setting fetched successfully", map[string]any{"enabled": want}))
}

// The seed document's request, as its curl command sends it.
func TestSeedRequest(t *testing.T) {
	s := start(t)
	expect(t, "disable", s.do(t, "POST", "/api/dnc/enable-disable", `{"enable": false}`), 200,
		ok("DNC setting updated successfully", nil))
	s.enabled(t, "after disable", false)
	expect(t, "seed", s.do(t, "POST", "/api/dnc/enable-disable", "{\n    \"enable\": true\n  }"), 200,
		ok("DNC setting updated successfully", nil))
	s.enabled(t, "after the seed's request", true)
}

// Paths that a ServeMux would clean and redirect to are unknown paths of the API: 404
// with the JSON envelope, no redirect, and nothing changed.
func TestUncleanPaths(t *testing.T) {
	s := start(t)
	expect(t, "disable", s.do(t, "POST", "/api/dnc/enable-disable", `{"enable": false}`), 200,
		ok("DNC setting updated successfully", nil))
	r := s.do(t, "POST", "/api/dnc/add", `{"phoneNumber": "12125551234"}`)
	if r.code != 200 {
		t.Fatalf("add: status %d %s", r.code, r.raw)
	}
	var added struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.raw), &added); err != nil || added.Data["_id"] == nil {
		t.Fatalf("add: no _id in %s", r.raw)
	}
	id, _ := added.Data["_id"].(string)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/dnc//list", ""},
		{"GET", "/api/dnc/x/../list", ""},
		{"GET", "/api/dnc/./status", ""},
		{"GET", "//api/dnc/status", ""},
		{"GET", "/api/dnc/list/.", ""},
		{"POST", "/api/dnc//enable-disable", `{"enable": true}`},
		{"POST", "/api/dnc/./enable-disable", `{"enable": true}`},
		{"DELETE", "/api/dnc//delete/" + id, ""},
		{"DELETE", "/api/dnc/x/../delete/" + id, ""},
		{"DELETE", "/api/dnc/delete/./" + id, ""},
		{"GET", "//metrics", ""},
		{"GET", "/metrics/", ""},
		{"GET", "/./metrics", ""},
		{"GET", "/", ""},
	} {
		what := tc.method + " " + tc.path
		r := s.do(t, tc.method, tc.path, tc.body)
		expect(t, what, r, 404, failed(404, "not found: no such endpoint"))
		if loc := r.header.Get("Location"); loc != "" {
			t.Errorf("%s: Location %q; want none", what, loc)
		}
	}
	s.enabled(t, "after unclean paths", false)
	expect(t, "list", s.do(t, "GET", "/api/dnc/list", ""), 200, ok("DNC list fetched successfully", map[string]any{
		"dncList":    []any{added.Data},
		"pagination": map[string]any{"total": float64(1), "page": float64(1), "limit": float64(10), "totalPages": float64(1)},
	}))
}

func TestMethodNotAllowed(t *testing.T) {
	s := start(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/api/dnc/list", "GET, HEAD"},
		{"GET", "/api/dnc/enable-disable", "POST"},
		{"DELETE", "/api/dnc/status", "GET, HEAD"},
		{"GET", "/api/dnc/delete/0123456789abcdef01234567", "DELETE"},
	} {
		what := tc.method + " " + tc.path
		r := s.do(t, tc.method, tc.path, `{"enable": false}`)
		expect(t, what, r, 405, failed(405, "method "+tc.method+" is not allowed on this path; allowed: "+tc.allow))
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q; want %q", what, got, tc.allow)
		}
	}
	s.enabled(t, "after wrong methods", true)
}

func TestBodyTooLarge(t *testing.T) {
	s := start(t)
	body := `{"enable": false, "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	r := s.do(t, "POST", "/api/dnc/enable-disable", body)
	expect(t, "oversize body", r, 413, failed(413, "request body too large: the limit is 1048576 bytes (1 MiB)"))
	s.enabled(t, "after an oversize body", true)
}

func TestMetrics(t *testing.T) {
	s := start(t)
	expect(t, "check", s.do(t, "POST", "/api/dnc/check", `{"phoneNumbers": ["12125551234"]}`), 200,
		ok("DNC check completed successfully", map[string]any{"results": []any{
			map[string]any{"input": "12125551234", "phoneNumber": "+12125551234", "skip": false, "reason": "not_listed"}}}))
	for _, path := range []string{"/metrics", "/metrics?x=1"} {
		r := s.do(t, "GET", path, "")
		if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s: status %d, Content-Type %q; want 200 text/plain", path, r.code, r.header.Get("Content-Type"))
		}
		for _, want := range []string{"\ndnc_decisions_total{reason=\"not_listed\"} 1\n", "\ndnc_check_storage_errors_total 0\n", "\ngo_goroutines "} {
			if !strings.Contains(r.raw, want) {
				t.Errorf("GET %s lacks %q", path, strings.TrimSpace(want))
			}
		}
	}
	if r := s.do(t, "HEAD", "/metrics", ""); r.code != 200 {
		t.Errorf("HEAD /metrics: status %d; want 200", r.code)
	}
	for _, method := range []string{"POST", "DELETE"} {
		r := s.do(t, method, "/metrics", "")
		if r.code != 405 || r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /metrics: status %d, Allow %q; want 405, GET, HEAD", method, r.code, r.header.Get("Allow"))
		}
	}
}

// Every request is logged with its method, path and status, never with its token.
func TestAccessLog(t *testing.T) {
	s := start(t)
	s.do(t, "GET", "/api/dnc//list?search=12125551234", "")
	s.do(t, "GET", "/api/dnc/status", "")
	s.do(t, "GET", "/metrics", "")
	s.do(t, "DELETE", "/api/dnc/rules/%2B1212555", "")
	s.do(t, "DELETE", "/api/dnc/rules/1%20212%20555", "")
	s.do(t, "GET", "/api/dnc/history?since=2026-01-01T00:00:00Z", "")
	logs := s.logs.String()
	for _, want := range []string{
		"msg=request method=GET path=/api/dnc//list status=404 ",
		"msg=request method=GET path=/api/dnc/status status=200 ",
		"msg=request method=GET path=/metrics status=200 ",
		"msg=request method=DELETE path=/api/dnc/rules/{prefix} status=200 ",
		"msg=request method=GET path=/api/dnc/history status=200 ",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{token, "12125551234", "1212555", "212 555", "212%20555", "2026-01-01"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// A token of DNC_API_TOKENS that names an actor makes its changes as that actor, as the
// audit log (GET /api/dnc/history) shows; one that names none makes them as "". An org
// id that holds ":" is an org id, as before actors.
func TestActors(t *testing.T) {
	s := startWith(t, map[string]string{"DNC_API_TOKENS": "ops-token=acme (Ops Team (NYC)), " + token + "=acme, other=tenant:acme"})
	expect(t, "add a rule", s.doAs(t, "ops-token", "POST", "/api/dnc/rules", `{"prefix": "1201"}`), 200,
		ok("DNC rule added successfully", map[string]any{"rule": "+1201"}))
	if r := s.do(t, "POST", "/api/dnc/add", `{"phoneNumber": "12125551234", "expiresAt": "2040-01-02T03:04:05Z"}`); r.code != 200 ||
		!strings.Contains(r.raw, `"expiresAt":"2040-01-02T03:04:05.000Z"`) {
		t.Fatalf("add: %d %s", r.code, r.raw)
	}
	r := s.do(t, "GET", "/api/dnc/history", "")
	var h struct {
		Data struct {
			Events []struct{ Actor, Action, Detail string } `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.raw), &h); err != nil || r.code != 200 {
		t.Fatalf("history: %d %s", r.code, r.raw)
	}
	want := []struct{ Actor, Action, Detail string }{{"", "add", "+12125551234"}, {"Ops Team (NYC)", "rule_add", "+1201"}}
	if !reflect.DeepEqual(h.Data.Events, want) {
		t.Errorf("history = %+v; want %+v", h.Data.Events, want)
	}
	expect(t, "tenant:acme's rules", s.doAs(t, "other", "GET", "/api/dnc/rules", ""), 200,
		ok("DNC rules fetched successfully", map[string]any{"rules": []any{}}))
}

// Configuration the server cannot serve stops it at start, saying why.
func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		err  error  // matched with errors.Is, when not nil
		msg  string // in the error
	}{
		{"org with a space", nil, map[string]string{"DNC_API_TOKENS": "tokB=ac me"}, dnc.ErrInvalidOrg, "DNC_API_TOKENS: "},
		{"org with braces", nil, map[string]string{"DNC_API_TOKENS": "tok=acme,tok2=a{b}"}, dnc.ErrInvalidOrg, "token pair 2"},
		{"DNC_ORGS", nil, map[string]string{"DNC_API_TOKENS": "tok=acme", "DNC_ORGS": "acme, a{b}"}, dnc.ErrInvalidOrg, "DNC_ORGS: "},
		{"token without org", nil, map[string]string{"DNC_API_TOKENS": "tok"}, nil, "want token=org"},
		{"org with a space, no actor", nil, map[string]string{"DNC_API_TOKENS": "tok=acme corp"}, dnc.ErrInvalidOrg, "token pair 1"},
		{"actor not closed", nil, map[string]string{"DNC_API_TOKENS": "tok=acme (ops"}, nil, `token pair 1: want "token=org (actor)": the actor ends with ")"`},
		{"text after the actor", nil, map[string]string{"DNC_API_TOKENS": "tok=acme (ops) x"}, nil, `the actor ends with ")"`},
		{"empty actor", nil, map[string]string{"DNC_API_TOKENS": "a=acme,tok=acme ( )"}, nil, "token pair 2: empty actor"},
		{"actor with a control character", nil, map[string]string{"DNC_API_TOKENS": "tok=acme (o\x07ps)"}, nil, "token pair 1: actor: U+0007 at byte 1"},
		{"actor with \"=\"", nil, map[string]string{"DNC_API_TOKENS": "tok=acme (a=b)"}, nil, "token holds white space"},
		{"actor too long", nil, map[string]string{"DNC_API_TOKENS": "tok=acme (" + strings.Repeat("x", dnc.MaxActorLen+1) + ")"}, nil, "actor: 257 bytes"},
		{"no -region flag", []string{"-region", "GB"}, nil, nil, "flag provided but not defined: -region"},
		{"arguments", []string{"extra"}, nil, nil, "unexpected arguments"},
		{"zero timeout", []string{"-timeout", "0s"}, nil, nil, "-timeout 0s: must be positive"},
		{"negative timeout", []string{"-timeout", "-1s"}, nil, nil, "-timeout -1s: must be positive"},
		{"timeout without unit", []string{"-timeout", "2"}, nil, nil, "invalid value"},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		_, _, closeRedis, err := setup(context.Background(), tc.args, lookup, io.Discard, slog.New(slog.DiscardHandler))
		if err == nil {
			closeRedis()
			t.Errorf("%s: setup succeeded; want an error", tc.name)
			continue
		}
		if (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: setup error %q; want one matching %v that holds %q", tc.name, err, tc.err, tc.msg)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

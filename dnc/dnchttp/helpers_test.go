package dnchttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Three orgs: a and b have users, c has none. The tokens of a and b name actors;
// tokA2 is a second token of org a that names none.
const (
	tokA, orgA = "token-of-a", "org-a"
	tokB, orgB = "token-of-b", "org-b"
	tokC, orgC = "token-of-c", "org-c"
	tokA2      = "token-of-a-without-actor"

	actorA, actorB = "alice@org-a", "Bob (org-b)"
)

// start is the first createdAt the fixture's clock gives; each new entry is 1s later.
var start = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// fixture is the API on an httptest.Server over an Enforcer on rdb.
type fixture struct {
	srv  *httptest.Server
	h    http.Handler // the API that srv serves
	enf  *dnc.Enforcer
	rdb  redis.UniversalClient
	mr   *miniredis.Miniredis // nil on a real Redis
	logs *syncBuffer
}

// newFixture serves the API over miniredis.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	f := newFixtureOn(t, rdb)
	f.mr = mr
	return f
}

// newFixtureOn serves the API over rdb, with a clock that ticks 1s per new entry, and
// the handler's options opts.
func newFixtureOn(t *testing.T, rdb redis.UniversalClient, opts ...dnchttp.Option) *fixture {
	t.Helper()
	var mu sync.Mutex
	clock := start.Add(-time.Second)
	enf, err := dnc.New(rdb, dnc.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}))
	if err != nil {
		t.Fatalf("dnc.New: %v", err)
	}
	auth, err := dnchttp.NewStaticIdentities(map[string]dnchttp.Identity{
		tokA: {Org: orgA, Actor: actorA}, tokA2: {Org: orgA}, tokB: {Org: orgB, Actor: actorB}, tokC: {Org: orgC}})
	if err != nil {
		t.Fatalf("NewStaticIdentities: %v", err)
	}
	orgs, err := dnchttp.NewStaticOrgs(orgA, orgB)
	if err != nil {
		t.Fatalf("NewStaticOrgs: %v", err)
	}
	logs := &syncBuffer{}
	h, err := dnchttp.New(enf, auth, orgs,
		append([]dnchttp.Option{dnchttp.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)...)
	if err != nil {
		t.Fatalf("dnchttp.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, h: h, enf: enf, rdb: rdb, logs: logs}
}

// newServer serves h on an httptest.Server that is closed when the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newLogger returns a logger that writes text to w.
func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// response is one answer of the API.
type response struct {
	code   int
	header http.Header
	body   map[string]any // the decoded envelope
	raw    string
}

// do sends one request. token "" sends no Authorization header; body "" sends none.
func (f *fixture) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return f.send(t, req)
}

// send sends req and decodes the envelope, failing the test unless the answer is one
// JSON object with a JSON content type.
func (f *fixture) send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := response{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	if resp.Close {
		r.header = r.header.Clone()
		r.header.Set("Connection", "close")
	}
	if req.Method == http.MethodHead {
		return r
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q; want application/json; charset=utf-8", req.Method, req.URL.Path, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r.body); err != nil || dec.More() {
		t.Fatalf("%s %s: body is not one JSON object: %v\n%s", req.Method, req.URL.Path, err, b)
	}
	return r
}

// failed is the envelope of a failure.
func failed(code int, msg string) map[string]any {
	return map[string]any{"message": msg, "status": false, "code": float64(code), "errorMessage": msg}
}

// ok is the envelope of a success, with data when it is not nil.
func ok(t *testing.T, msg string, data any) map[string]any {
	t.Helper()
	env := map[string]any{"message": msg, "status": true, "code": float64(200), "errorMessage": ""}
	if data != nil {
		env["data"] = jsonValue(t, data)
	}
	return env
}

// jsonValue returns v as encoding/json decodes its JSON into an any.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// expect fails the test unless r has status code and exactly the envelope want.
func expect(t *testing.T, what string, r response, code int, want map[string]any) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: status %d; want %d\nbody %s", what, r.code, code, r.raw)
	}
	if !reflect.DeepEqual(r.body, want) {
		w, _ := json.Marshal(want)
		t.Errorf("%s: envelope\n got %s\nwant %s", what, strings.TrimSpace(r.raw), w)
	}
}

// dump returns every key of the fixture's Redis and its whole value, to prove that a
// failed request changed nothing.
func (f *fixture) dump(t *testing.T) string { return redistest.Snapshot(t, f.rdb) }

// unchanged fails the test if Redis differs from before.
func (f *fixture) unchanged(t *testing.T, what, before string) {
	t.Helper()
	if after := f.dump(t); after != before {
		t.Errorf("%s changed Redis:\nbefore\n%s\nafter\n%s", what, before, after)
	}
}

// entry is an entry as the API shows it, for building expected envelopes.
type entry struct {
	ID          string `json:"_id"`
	PhoneNumber string `json:"phoneNumber"`
	Type        string `json:"type"`
	OrgID       string `json:"orgId"`
	BatchID     string `json:"batchId"`
	RequestUUID string `json:"requestUUID"`
	CreatedAt   string `json:"createdAt"`
	ExpiresAt   string `json:"expiresAt,omitempty"`
}

func toEntry(org string, e dnc.Entry) entry {
	out := entry{ID: e.ID, PhoneNumber: e.Number, Type: e.Type, OrgID: org, BatchID: e.BatchID,
		RequestUUID: e.RequestUUID, CreatedAt: e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	if !e.ExpiresAt.IsZero() {
		out.ExpiresAt = e.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
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

package dnchttp_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// faults is a redis.Hook that fails every command while err is set.
type faults struct{ err atomic.Pointer[error] }

func (h *faults) fail(err error) {
	if err == nil {
		h.err.Store(nil)
		return
	}
	h.err.Store(&err)
}

func (h *faults) failure() error {
	if p := h.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *faults) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *faults) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := h.failure(); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h *faults) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := h.failure(); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// expectInternalError sends every endpoint a request it would accept (the delete names
// the entry id, "" for any), and fails the test unless each answers 500 with the
// generic envelope and none leaks secret.
func expectInternalError(t *testing.T, f *fixture, id string, secrets ...string) {
	t.Helper()
	for _, ep := range endpoints {
		path := ep.path
		if strings.HasPrefix(path, "/api/dnc/delete/") && id != "" {
			path = "/api/dnc/delete/" + id
		}
		what := ep.method + " " + path + " on failing storage"
		r := f.do(t, ep.method, path, tokA, ep.body)
		expect(t, what, r, 500, failed(500, "internal error"))
		for _, s := range append(secrets, "redis", "dial", "tcp") {
			if strings.Contains(strings.ToLower(r.raw), strings.ToLower(s)) {
				t.Errorf("%s: the answer leaks %q: %s", what, s, r.raw)
			}
		}
	}
}

func TestStorageFailure(t *testing.T) {
	f := newFixture(t)
	addN(t, f, orgA, 2)
	listed, err := f.enf.List(ctxT(t), orgA, dnc.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := &faults{}
	f.rdb.AddHook(h)
	before := f.dump(t)
	boom := errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")
	h.fail(boom)
	expectInternalError(t, f, listed.Entries[0].ID, "10.9.8.7", "6379", "refused")
	h.fail(nil)
	f.unchanged(t, "requests on failing storage", before)
	logs := f.logs.String()
	if got := strings.Count(logs, "10.9.8.7:6379"); got != len(endpoints) {
		t.Errorf("the log holds the cause %d times; want %d (once per failed request):\n%s", got, len(endpoints), logs)
	}
	for _, tok := range []string{tokA, tokB, tokC} {
		if strings.Contains(logs, tok) {
			t.Errorf("the log holds a token:\n%s", logs)
		}
	}
}

// A toggle through the API reaches a dialer's own Enforcer on the same Redis at once;
// so do adds and deletes. Then, with Redis gone (connections refused), every endpoint
// answers 503 with Retry-After, at once, without leaking where Redis was.
func TestRealRedis(t *testing.T) {
	s := redistest.Start(t)
	f := newFixtureOn(t, s.Client(t))
	dialer, err := dnc.New(s.Client(t)) // the dialer's own client and Enforcer
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	skip := func(number string, want bool) {
		t.Helper()
		got, err := dialer.ShouldSkip(ctx, orgA, number)
		if err != nil || got != want {
			t.Errorf("dialer ShouldSkip(%s) = %v, %v; want %v, nil", number, got, err, want)
		}
	}
	post := func(path, body string) response {
		t.Helper()
		r := f.do(t, "POST", path, tokA, body)
		if r.code != 200 {
			t.Fatalf("POST %s %s: status %d %s", path, body, r.code, r.raw)
		}
		return r
	}
	skip("+12125551234", false)
	r := post("/api/dnc/add", `{"phoneNumber": "12125551234", "type": "complaint"}`)
	skip("(212) 555-1234", true)
	post("/api/dnc/enable-disable", `{"enable": false}`)
	skip("(212) 555-1234", false)
	post("/api/dnc/enable-disable", `{"enable": true}`)
	skip("(212) 555-1234", true)

	before := f.dump(t)
	expect(t, "add again", f.do(t, "POST", "/api/dnc/add", tokA, `{"phoneNumber": "+1 212 555 1234"}`), 400,
		failed(400, dnchttp.MsgExists))
	f.unchanged(t, "add again", before)

	id, _ := r.body["data"].(map[string]any)["_id"].(string)
	expect(t, "delete", f.do(t, "DELETE", "/api/dnc/delete/"+id, tokA, ""), 200,
		ok(t, dnchttp.MsgDeleted, map[string]string{"_id": id, "phoneNumber": "+12125551234"}))
	skip("(212) 555-1234", false)

	r = post("/api/dnc/add", `{"phoneNumber": "12125551235"}`)
	id, _ = r.body["data"].(map[string]any)["_id"].(string)
	s.Stop()
	_, port, _ := strings.Cut(s.Addr, ":")
	for _, ep := range endpoints {
		path := ep.path
		if strings.HasPrefix(path, "/api/dnc/delete/") {
			path = "/api/dnc/delete/" + id // an id the storage must be asked about
		}
		what := ep.method + " " + path + " on a stopped Redis"
		r, took := f.timed(t, ep.method, path, tokA, ep.body)
		expectUnavailable(t, what, r, took, dnchttp.DefaultTimeout+margin)
		if strings.Contains(r.raw, port) {
			t.Errorf("%s: the answer leaks the port: %s", what, r.raw)
		}
	}
	if !strings.Contains(f.logs.String(), s.Addr) {
		t.Errorf("the log does not hold the cause:\n%s", f.logs.String())
	}
}

// failingAuth is an Authenticator whose backend is down.
type failingAuth struct{ err error }

func (a failingAuth) Org(context.Context, string) (string, error) { return "", a.err }

// failingDir is an OrgDirectory whose backend is down.
type failingDir struct{ err error }

func (d failingDir) HasUsers(context.Context, string) (bool, error) { return false, d.err }

// An Authenticator or OrgDirectory that fails is 500 with the generic envelope on every
// endpoint, whatever the body; the cause is logged, never sent, and nothing changes.
func TestAuthFailure(t *testing.T) {
	boom := errors.New("dial tcp 10.1.2.3:5432: connect: connection refused")
	tokens, err := dnchttp.NewStaticTokens(map[string]string{tokA: orgA})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := dnchttp.NewStaticOrgs(orgA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		auth   dnchttp.Authenticator
		orgs   dnchttp.OrgDirectory
		logged string // the cause as the log shows it
	}{
		{"authenticator", failingAuth{boom}, dir, "authenticate: " + boom.Error()},
		{"org directory", tokens, failingDir{boom}, "org directory: " + boom.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			enf, err := dnc.New(rdb)
			if err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			h, err := dnchttp.New(enf, tc.auth, tc.orgs, dnchttp.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			f := &fixture{srv: srv, h: h, enf: enf, rdb: rdb, mr: mr, logs: logs}
			if err := enf.SetEnabled(ctxT(t), orgA, false); err != nil {
				t.Fatal(err)
			}
			before := f.dump(t)
			expectInternalError(t, f, "", "10.1.2.3", "5432", "refused")
			for _, ep := range endpoints { // a bad body too: it is not looked at
				expect(t, ep.method+" "+ep.path+" bad body", f.do(t, ep.method, ep.path, tokA, `{"enable": "junk"`),
					500, failed(500, "internal error"))
			}
			f.unchanged(t, "requests with a failing "+tc.name, before)
			if got := strings.Count(logs.String(), tc.logged); got != 2*len(endpoints) {
				t.Errorf("the log holds %q %d times; want %d (once per request):\n%s", tc.logged, got, 2*len(endpoints), logs)
			}
			if strings.Contains(logs.String(), tokA) {
				t.Errorf("the log holds a token:\n%s", logs)
			}
		})
	}
}

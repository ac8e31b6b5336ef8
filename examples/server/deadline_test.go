package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
)

// Headers beyond the server's limit are refused before the API sees them.
func TestMaxHeaderBytes(t *testing.T) {
	s := start(t)
	srv := httptest.NewUnstartedServer(s.Config.Handler)
	srv.Config = newServer(s.Config.Handler, slog.New(slog.DiscardHandler))
	srv.Start()
	t.Cleanup(srv.Close)
	req, err := http.NewRequest("GET", srv.URL+"/api/dnc/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Padding", strings.Repeat("x", 2*maxHeaderBytes))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a request with %d bytes of headers: status %d; want 431", 2*maxHeaderBytes, resp.StatusCode)
	}
}

// On a real Redis that hangs, the server built from its flags answers 503 with
// Retry-After within -timeout plus a margin, and works again once Redis resumes.
func TestTimeoutFlag(t *testing.T) {
	rs := redistest.Start(t)
	env := map[string]string{"DNC_API_TOKENS": token + "=acme"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	const timeout = 300 * time.Millisecond
	args := []string{"-redis", "redis://" + rs.Addr + "/0", "-timeout", timeout.String()}
	_, h, closeRedis, err := setup(context.Background(), args, lookup, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(closeRedis)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &server{Server: srv, logs: &syncBuffer{}}

	if err := rs.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := true
	t.Cleanup(func() {
		if paused {
			_ = rs.Resume()
		}
	})
	const limit = timeout + 3*time.Second // the deadline plus a margin for a busy machine
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/dnc/status", ""},
		{"POST", "/api/dnc/check", `{"phoneNumbers": ["12125551234"]}`},
	} {
		began := time.Now()
		r := s.do(t, rq.method, rq.path, rq.body)
		took := time.Since(began)
		if r.code != 503 || r.header.Get("Retry-After") != "1" || !strings.Contains(r.raw, dnchttp.MsgUnavailable) || took > limit {
			t.Errorf("%s %s on a hung Redis: %d Retry-After %q in %v; want 503, \"1\", %q within %v\n%s",
				rq.method, rq.path, r.code, r.header.Get("Retry-After"), took, dnchttp.MsgUnavailable, limit, r.raw)
		}
	}
	if err := rs.Resume(); err != nil {
		t.Fatal(err)
	}
	paused = false
	if r := s.do(t, "GET", "/api/dnc/status", ""); r.code != 200 {
		t.Errorf("status after Redis resumed: %d; want 200\n%s", r.code, r.raw)
	}
}

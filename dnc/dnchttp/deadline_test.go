package dnchttp_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
)

// margin is how much later than its deadline a request may be answered on a busy
// machine. Tests assert only this upper bound, never a duration's lower bound.
const margin = 3 * time.Second

// timed sends one request like f.do and also returns how long the answer took.
func (f *fixture) timed(t *testing.T, method, path, token, body string) (response, time.Duration) {
	t.Helper()
	start := time.Now()
	r := f.do(t, method, path, token, body)
	return r, time.Since(start)
}

// expectUnavailable fails the test unless r is the 503 of a storage outage: the generic
// envelope, Retry-After, nothing of the cause, and answered within limit.
func expectUnavailable(t *testing.T, what string, r response, took, limit time.Duration) {
	t.Helper()
	expect(t, what, r, 503, failed(503, dnchttp.MsgUnavailable))
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("%s: Retry-After %q; want \"1\"", what, got)
	}
	if took > limit {
		t.Errorf("%s: answered in %v; want within %v (the deadline plus a margin)", what, took, limit)
	}
	for _, s := range []string{"redis", "dial", "tcp", "timeout", "127.0.0.1"} {
		if strings.Contains(strings.ToLower(r.raw), s) {
			t.Errorf("%s: the answer leaks %q: %s", what, s, r.raw)
		}
	}
}

// A Redis that hangs (SIGSTOP: it keeps its connections and answers nothing) gets each
// endpoint a 503 with Retry-After within the request's deadline plus a margin; a write
// it cut short is either wholly in storage after Redis resumes or not at all; and once
// Redis resumes, every endpoint works again with the same handler.
func TestPausedRedis(t *testing.T) {
	s := redistest.Start(t)
	const timeout = 300 * time.Millisecond
	f := newFixtureOn(t, s.Client(t), dnchttp.WithTimeout(timeout))
	listed := addN(t, f, orgA, 1)[0]

	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := s.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(resume)
	const cutShort = "+14155550123" // added while Redis hangs
	requests := []struct{ method, path, body string }{
		{"POST", "/api/dnc/check", `{"phoneNumbers": ["` + listed.PhoneNumber + `", "14155552671"]}`},
		{"GET", "/api/dnc/status", ""},
		{"POST", "/api/dnc/add", `{"phoneNumber": "` + cutShort + `", "type": "complaint", "batchId": "B-7", "requestUUID": "R-7"}`},
		{"POST", "/api/dnc/enable-disable", `{"enable": true}`},
	}
	var wg sync.WaitGroup
	for _, rq := range requests { // concurrently, as a dialer fleet would send them
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, took := f.timed(t, rq.method, rq.path, tokA, rq.body)
			expectUnavailable(t, rq.method+" "+rq.path+" on a hung Redis", r, took, timeout+margin)
		}()
	}
	wg.Wait()
	for _, rq := range requests { // and one after the other
		r, took := f.timed(t, rq.method, rq.path, tokA, rq.body)
		expectUnavailable(t, rq.method+" "+rq.path+" on a hung Redis, again", r, took, timeout+margin)
	}
	if got := strings.Count(f.logs.String(), `msg="dnc api storage unavailable"`); got != 2*len(requests) {
		t.Errorf("the log holds %d storage-unavailable lines; want %d:\n%s", got, 2*len(requests), f.logs)
	}

	resume()
	ctx := ctxT(t)
	// The add cut short reached Redis before its deadline; Redis may run it when it
	// resumes. Either way it is whole: the number with all its metadata, or nothing.
	e, err := f.enf.Entry(ctx, orgA, cutShort)
	switch {
	case errors.Is(err, dnc.ErrNotFound):
	case err != nil:
		t.Fatalf("Entry after resume: %v", err)
	case e.Type != "complaint" || e.BatchID != "B-7" || e.RequestUUID != "R-7":
		t.Errorf("the add cut short is half-written: %+v", e)
	}
	for _, rq := range requests {
		if rq.path == "/api/dnc/add" {
			rq.body = `{"phoneNumber": "14155550199"}`
		}
		r, took := f.timed(t, rq.method, rq.path, tokA, rq.body)
		if r.code != 200 || took > timeout+margin {
			t.Errorf("%s %s after Redis resumed: status %d in %v; want 200 within %v\n%s", rq.method, rq.path, r.code, took, timeout+margin, r.raw)
		}
	}
	r := f.do(t, "POST", "/api/dnc/check", tokA, `{"phoneNumbers": ["`+listed.PhoneNumber+`"]}`)
	if !strings.Contains(r.raw, `"skip":true`) {
		t.Errorf("the number listed before the outage is not skipped after it: %s", r.raw)
	}
}

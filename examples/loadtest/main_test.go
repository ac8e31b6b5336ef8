package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/internal/redistest"
)

// runOK runs loadtest with args and returns its output, failing the test on error.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("run %q: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// expectReport fails the test unless out has both phases' lines, with no failure, and
// the ratio line.
func expectReport(t *testing.T, out string) {
	t.Helper()
	for _, re := range []string{
		`(?m)^Enforcer\.Check +\d+/s  p50 +\d+µs  p99 +\d+µs  max +\d+µs  \(\d+ calls, 0 failed\)$`,
		`(?m)^raw SISMEMBER +\d+/s  p50 +\d+µs  p99 +\d+µs  max +\d+µs  \(\d+ calls, 0 failed\)$`,
		`(?m)^Check / SISMEMBER: p50 [\d.]+x, p99 [\d.]+x, throughput [\d.]+x$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
}

func TestEmbedded(t *testing.T) {
	out := runOK(t, "-d", "200ms", "-c", "2", "-n", "10")
	expectReport(t, out)
	if !strings.Contains(out, "embedded miniredis: figures measure this program") {
		t.Errorf("no warning that miniredis is not Redis:\n%s", out)
	}
}

// On a real Redis, the run leaves no key behind.
func TestRealRedis(t *testing.T) {
	s := redistest.Start(t)
	expectReport(t, runOK(t, "-redis", "redis://"+s.Addr+"/0", "-d", "300ms", "-c", "4", "-n", "9001"))
	if keys := redistest.Keys(t, s.Client(t)); len(keys) > 0 {
		t.Errorf("keys left behind: %v", keys)
	}
}

// On a real Redis Cluster, every key of the run shares the org's slot (SISMEMBER's set
// too), and the run leaves no key behind.
func TestRealCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	a := c.Addrs()
	url := "redis://" + a[0] + "?addr=" + a[1] + "&addr=" + a[2]
	expectReport(t, runOK(t, "-redis-cluster", url, "-d", "300ms", "-c", "4", "-n", "100"))
	if keys := redistest.Keys(t, c.Client(t)); len(keys) > 0 {
		t.Errorf("keys left behind: %v", keys)
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"remote Redis", []string{"-redis", "redis://user:secret@10.1.2.3:6379/0"}, "address 10.1.2.3:6379 is not a loopback address"},
		{"remote cluster node", []string{"-redis-cluster", "redis://127.0.0.1:7000?addr=db.example.com:7001"}, "address db.example.com:7001 is not a loopback address"},
		{"bad URL", []string{"-redis", "http://secret@x"}, "-redis: not a valid Redis URL"},
		{"too long", []string{"-d", "6m"}, "-d 6m0s: want more than 0 and at most 5m0s"},
		{"no workers", []string{"-c", "0"}, "-c 0: want 1 to 1024"},
		{"no numbers", []string{"-n", "0"}, "-n 0: want 1 to 99000"},
		{"no timeout", []string{"-timeout", "0s"}, "-timeout 0s: must be positive"},
		{"arguments", []string{"extra"}, "unexpected arguments"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %v; want one holding %q, without the password", tc.name, err, tc.msg)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/internal/redistest"
)

func TestDemoRun(t *testing.T) {
	var out strings.Builder
	if err := run(nil, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"DNC list: 4 numbers given, 4 newly listed, 4 listed in all",
		"212.555.1234             +12125551234    SKIP   listed",
		"(415) 555-2671 ext. 12   +14155552671    DIAL   disabled",
		"555-0100                 -               SKIP   invalid_number",
		"tel:+1-212-555-1234      +12125551234    SKIP   listed",
		"summary: 12 calls, 4 dialled, 8 skipped, listed 5, not_listed 2, disabled 2, invalid_number 3",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestFilesOnRealRedis(t *testing.T) {
	s := redistest.Start(t)
	dir := t.TempDir()
	dncFile, callsFile := filepath.Join(dir, "dnc.txt"), filepath.Join(dir, "calls.txt")
	if err := os.WriteFile(dncFile, []byte("# opt-outs\n020 7946 0958\n\n07400 123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(callsFile, []byte("+44 20 7946 0958\n+44 7400 123456\n020 7946 0959\n999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run([]string{"-redis", "redis://" + s.Addr + "/0", "-dnc", dncFile, "-calls", callsFile, "-region", "gb", "-org", "uk-team"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "summary: 4 calls, 1 dialled, 3 skipped, listed 2, not_listed 1, invalid_number 1"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if !strings.Contains(out.String(), "Redis "+s.Addr) {
		t.Errorf("output does not say it used %s:\n%s", s.Addr, out.String())
	}
	if err := run([]string{"-dnc", filepath.Join(dir, "missing.txt")}, &out); err == nil {
		t.Error("a missing -dnc file was not an error")
	}
	if err := run([]string{"-dnc", callsFile}, &out); err == nil || !strings.Contains(err.Error(), "invalid phone number") {
		t.Errorf("a DNC file with an invalid number: err = %v", err)
	}
}

func TestDemoOnRealCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	addrs := c.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	var out strings.Builder
	if err := run([]string{"-redis-cluster", url}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Redis Cluster", "summary: 12 calls, 4 dialled, 8 skipped, listed 5, not_listed 2, disabled 2, invalid_number 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run([]string{"-redis", "redis://" + addrs[0], "-redis-cluster", url}, &out); err == nil {
		t.Error("-redis with -redis-cluster was accepted")
	}
}

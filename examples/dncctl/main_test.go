package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// dncctl runs one command in process and returns its exit status, stdout and stderr.
func dncctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not one JSON object: %q: %v", s, err)
	}
	return m
}

func TestCommands(t *testing.T) {
	mr := miniredis.RunT(t)
	url := "redis://" + mr.Addr() + "/0"
	dir := t.TempDir()
	optout := write(t, dir, "optout.csv", "Phone,Type,batch_id,Name\r\n"+
		"(212) 555-1234,complaint,b1,\"Smith, Jo\"\r\n"+
		"junk,,,\r\n"+
		"+1 212-555-1234,,,dup\r\n"+
		"646.555.0134,customer_request,,\r\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("201,2000000\n201,2000001\n"))
	_ = zw.Close()
	ftc := write(t, dir, "ftc.txt.gz", gz.String())

	code, out, errOut := dncctl(t, "import", "-redis", url, "-org", "acme", "-batch", "upload-1", "-json", optout, ftc)
	if code != 0 {
		t.Fatalf("import: exit %d, %s", code, errOut)
	}
	rep := jsonOf(t, out)
	for k, want := range map[string]float64{"rows": 6, "added": 4, "existing": 0, "duplicates": 1, "invalid": 1, "removed": 0} {
		if rep[k] != want {
			t.Errorf("import summary %s = %v; want %v (%s)", k, rep[k], want, out)
		}
	}
	if _, ok := rep["seconds"].(float64); !ok {
		t.Errorf("import summary without seconds: %s", out)
	}
	if code, out, _ := dncctl(t, "count", "-redis", url, "-org", "acme"); code != 0 || out != "4\n" {
		t.Errorf("count: %d %q", code, out)
	}
	if code, out, _ := dncctl(t, "purge", "-redis", url, "-org", "acme"); code != 0 || out != "purged 0 expired entries from org \"acme\"\n" {
		t.Errorf("purge: %d %q", code, out)
	}

	// Export, import the export into another org, export that: the same list.
	exp := filepath.Join(dir, "export.csv")
	if code, _, errOut := dncctl(t, "export", "-redis", url, "-org", "acme", "-o", exp); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	text := read(t, exp)
	if !strings.HasPrefix(text, "number,type,batchId,requestUUID,expiresAt,createdAt\n+12125551234,complaint,b1,,,") || !strings.Contains(text, "\n+16465550134,customer_request,upload-1,,") {
		t.Errorf("export:\n%s", text)
	}
	if code, _, errOut := dncctl(t, "import", "-redis", url, "-org", "copy", exp); code != 0 {
		t.Fatalf("import of the export: %d %s", code, errOut)
	}
	exp2 := filepath.Join(dir, "export2.csv")
	if code, _, _ := dncctl(t, "export", "-redis", url, "-org", "copy", "-o", exp2); code != 0 {
		t.Fatal("export of the copy failed")
	}
	if a, b := dropLastColumn(text), dropLastColumn(read(t, exp2)); a != b {
		t.Errorf("round trip:\n%s\nwant\n%s", b, a)
	}
	if code, out, _ := dncctl(t, "export", "-redis", url, "-org", "acme", "-format", "lines"); code != 0 || out != "+12125551234\n+16465550134\n+12012000000\n+12012000001\n" {
		t.Errorf("export lines: %d %q", code, out)
	}

	// Scrub a call list.
	calls := write(t, dir, "calls.tsv", "id\tnumber\tname\n1\t2125551234\tAl\n2\t(415) 555-2671\tBo\n3\t911\tCy\n4\t+1 201 200 0001\tDi\n")
	dial, skipped := filepath.Join(dir, "dialable.tsv"), filepath.Join(dir, "skipped.tsv")
	code, out, errOut = dncctl(t, "scrub", "-redis", url, "-org", "acme", "-o", dial, "-skipped", skipped, "-json", calls)
	if code != 0 {
		t.Fatalf("scrub: %d %s", code, errOut)
	}
	sum := jsonOf(t, out)
	for k, want := range map[string]float64{"rows": 4, "dialable": 1, "skipped": 3, "invalid": 1} {
		if sum[k] != want {
			t.Errorf("scrub summary %s = %v; want %v (%s)", k, sum[k], want, out)
		}
	}
	if got := read(t, dial); got != "id\tnumber\tname\n2\t(415) 555-2671\tBo\n" {
		t.Errorf("dialable %q", got)
	}
	if got := read(t, skipped); got != "id\tnumber\tname\tdnc_reason\n1\t2125551234\tAl\tlisted\n3\t911\tCy\tinvalid_number\n4\t+1 201 200 0001\tDi\tlisted\n" {
		t.Errorf("skipped %q", got)
	}

	// The switch.
	if code, out, _ := dncctl(t, "disable", "-redis", url, "-org", "acme"); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("disable: %d %q", code, out)
	}
	if code, out, _ := dncctl(t, "status", "-redis", url, "-org", "acme"); code != 0 || !strings.Contains(out, "DNC disabled") || !strings.Contains(out, "4 numbers") {
		t.Errorf("status: %d %q", code, out)
	}
	code, out, _ = dncctl(t, "scrub", "-redis", url, "-org", "acme", "-o", dial, calls)
	if code != 0 || !strings.Contains(out, "DNC is switched off") || read(t, dial) != "id\tnumber\tname\n1\t2125551234\tAl\n2\t(415) 555-2671\tBo\n4\t+1 201 200 0001\tDi\n" {
		t.Errorf("scrub with DNC off: %d %q %q", code, out, read(t, dial))
	}
	if code, _, _ := dncctl(t, "enable", "-redis", url, "-org", "acme"); code != 0 {
		t.Error("enable failed")
	}

	// Deleting with a change file.
	code, out, _ = dncctl(t, "import", "-redis", url, "-org", "acme", "-delete", "-json", write(t, dir, "del.txt", "2125551234\n9999\n"))
	if code != 0 || jsonOf(t, out)["removed"] != 1.0 || jsonOf(t, out)["invalid"] != 1.0 {
		t.Errorf("import -delete: %d %s", code, out)
	}
}

func dropLastColumn(csv string) string {
	var b strings.Builder
	for _, line := range strings.Split(csv, "\n") {
		if i := strings.LastIndexByte(line, ','); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestNeedsRedis(t *testing.T) {
	t.Setenv("DNC_REDIS_URL", "")
	dir := t.TempDir()
	f := write(t, dir, "a.txt", "2125551234\n")
	code, _, errOut := dncctl(t, "import", "-org", "acme", f)
	if code != 2 || !strings.Contains(errOut, "DNC_REDIS_URL") || !strings.Contains(errOut, "-demo") {
		t.Errorf("import without Redis: %d %q", code, errOut)
	}
	if code, out, errOut := dncctl(t, "import", "-demo", "-org", "acme", f); code != 0 || !strings.Contains(out, "1 added") {
		t.Errorf("import -demo: %d %q %q", code, out, errOut)
	}
	mr := miniredis.RunT(t)
	t.Setenv("DNC_REDIS_URL", "redis://"+mr.Addr())
	if code, _, errOut := dncctl(t, "import", "-org", "acme", f); code != 0 {
		t.Errorf("import with DNC_REDIS_URL: %d %q", code, errOut)
	}
	if n, _ := redis.NewClient(&redis.Options{Addr: mr.Addr()}).DBSize(context.Background()).Result(); n == 0 {
		t.Error("DNC_REDIS_URL's Redis holds nothing")
	}
	url := "redis://" + mr.Addr()
	out := filepath.Join(dir, "out.csv")
	before := mr.Dump()
	for _, args := range [][]string{{}, {"frob"}, {"import", "-org", "acme"}, {"scrub", "-org", "acme", f}, {"count"}, {"count", "-org", "a{b}"},
		{"import", "-redis", url, "-org", "refused", f, "-delete"},                  // a flag after the files
		{"import", "-redis", url, "-org", "refused", f, filepath.Join(dir, "nope")}, // a file that is not there: nothing applied
		{"import", "-redis", url, "-org", "refused", "-type", "a\x07", f},           // metadata that may not be stored
		{"import", "-redis", url, "-org", "refused", "-column", "fax", f},           // no such column
		{"scrub", "-redis", url, "-org", "refused", "-o", "-", f},                   // a dialable list on standard output
		{"scrub", "-redis", url, "-org", "refused", "-o", out, "-skipped", out, f},  // both outputs in one file
		{"scrub", "-redis", url, "-org", "refused", "-o", f, f},                     // the output over the input
	} {
		if code, _, _ := dncctl(t, args...); code != 2 {
			t.Errorf("dncctl %q: exit %d; want 2 (usage)", args, code)
		}
	}
	if mr.Dump() != before {
		t.Error("a refused command wrote to Redis")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused scrub left files: %v", entries)
	}
}

// A scrub that cannot finish leaves no output file that could be dialed.
func TestScrubFailureLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	calls := write(t, dir, "calls.txt", "2125551234\n")
	dial := filepath.Join(dir, "dialable.txt")
	code, _, errOut := dncctl(t, "scrub", "-redis", "redis://127.0.0.1:1/0", "-org", "acme", "-o", dial, calls)
	if code != 1 || !strings.Contains(errOut, "removed") {
		t.Errorf("scrub on an unreachable Redis: %d %q", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// SIGINT stops an import after the chunk it is writing, prints the summary so far and
// exits 1; the same command run again finishes the list.
func TestInterrupt(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "dncctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var all strings.Builder
	for i := range 60_000 {
		fmt.Fprintf(&all, "+1 646 %03d %04d\n", 200+i/10000, i%10000)
	}
	lines := strings.SplitAfter(all.String(), "\n")
	fifo := filepath.Join(dir, "in.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	url := "redis://" + srv.Addr + "/0"
	cmd := exec.Command(bin, "import", "-redis", url, "-org", "acme", fifo)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.WriteString(strings.Join(lines[:25_000], "")) // the first two chunks and a half
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	enf, err := dnc.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if c, _ := enf.Count(ctx, "acme"); c >= 10_000 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no chunk written: %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_, _ = w.WriteString(strings.Join(lines[25_000:], ""))
	_ = w.Close()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("interrupted import: %v; want exit status 1\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "stopped after line") || !strings.Contains(out.String(), "added") {
		t.Fatalf("interrupted import said:\n%s\n%s", out.String(), errOut.String())
	}
	count, _ := enf.Count(ctx, "acme")
	if count%10_000 != 0 || count == 0 || count == 60_000 {
		t.Fatalf("%d numbers listed after the interrupt; want whole chunks of 10,000, not all", count)
	}
	full := write(t, dir, "all.txt", all.String())
	code, stdout, stderr := dncctl(t, "import", "-redis", url, "-org", "acme", "-json", full)
	if code != 0 {
		t.Fatalf("re-run: %d %s", code, stderr)
	}
	rep := jsonOf(t, stdout)
	if rep["added"] != float64(60_000-count) || rep["existing"] != float64(count) {
		t.Fatalf("re-run after %d: %s", count, stdout)
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/numgen"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/store"
	"github.com/redis/go-redis/v9"
)

// TestScaleFiles measures dncctl end to end (the binary, its parsing and its writes)
// against a private redis-server, each run beside the raw go-redis commands it is
// compared with, alternating:
//
//	DNC_SCALE=1 go test ./examples/dncctl -run TestScaleFiles -v -timeout 60m
//
// DNC_SCALE_N rows (default 1,000,000), DNC_SCALE_REPS runs of each (default 5);
// DNC_SCALE_RSS_N, when set, also imports a file of that many rows once and reports
// the importer's peak RSS. Nothing is asserted about time.
func TestScaleFiles(t *testing.T) {
	if os.Getenv("DNC_SCALE") == "" {
		t.Skip("DNC_SCALE=1 runs the file scale measurements (minutes)")
	}
	n, reps := envInt(t, "DNC_SCALE_N", 1_000_000), envInt(t, "DNC_SCALE_REPS", 5)
	dir := t.TempDir()
	bin := filepath.Join(dir, "dncctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	url := "redis://" + srv.Addr + "/0"
	ctx := context.Background()

	list := numgen.E164(11, n)
	importFile := filepath.Join(dir, "import.csv")
	unique := writeImportFile(t, importFile, list)
	t.Logf("import file: %d rows, %d distinct valid numbers, %d bytes", n, len(unique), fileSize(t, importFile))

	// The write path alone: store.Add of the same distinct numbers with their metadata,
	// in calls of 10,000, as the import makes them.
	entries := make([]store.Entry, len(unique))
	for i, e := range unique {
		entries[i] = store.Entry{Number: e, Type: "complaint", BatchID: fmt.Sprintf("b%d", i/10000)}
	}
	st := store.New(rdb, "")
	var imp, raw, lib []float64
	for rep := range reps {
		start := time.Now()
		rawPipelined(ctx, t, rdb, "raw", unique, "sadd")
		rawSecs := time.Since(start).Seconds()
		flush(t, rdb)
		start = time.Now()
		for lo := 0; lo < len(entries); lo += 10_000 {
			if _, err := st.Add(ctx, "lib", entries[lo:min(lo+10_000, len(entries))], time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		libSecs := time.Since(start).Seconds()
		flush(t, rdb)
		secs, maxrss := dncctlRun(t, bin, "import", "-redis", url, "-org", "acme", importFile)
		if rep < reps-1 {
			flush(t, rdb)
		}
		imp, raw, lib = append(imp, float64(n)/secs), append(raw, float64(len(unique))/rawSecs), append(lib, float64(len(unique))/libSecs)
		t.Logf("rep %d: import %.0f rows/s (%.1f s, peak RSS %d MB) vs raw SADD %.0f numbers/s: %.3f×; store.Add alone %.0f/s: %.3f×",
			rep, float64(n)/secs, secs, maxrss>>10, float64(len(unique))/rawSecs, rawSecs/secs, float64(len(unique))/libSecs, rawSecs/libSecs)
	}
	t.Logf("import: %s rows/s, raw SADD %s/s, ratio %s; store.Add alone %s/s, ratio %s", spread(imp), spread(raw),
		ratios(raw, imp, float64(len(unique))/float64(n)), spread(lib), ratios(raw, lib, 1))

	// Scrub a call list of n rows, a tenth of them listed, against the list just imported.
	calls := numgen.E164(12, n)
	listed := 0
	for i := 0; i < len(calls); i += 10 {
		calls[i] = unique[(i*7)%len(unique)]
		listed++
	}
	callFile := filepath.Join(dir, "calls.csv")
	writeCallFile(t, callFile, calls)
	rawPipelined(ctx, t, rdb, "rawlist", unique, "sadd")
	// The batch path alone: CheckMany of the same numbers as written, in calls of 10,000.
	written := make([]string, len(calls))
	for i, e := range calls {
		written[i] = numgen.Format(e, i)
	}
	enf, err := dnc.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	var scrub, rawCheck, batch []float64
	for rep := range reps {
		start := time.Now()
		rawPipelined(ctx, t, rdb, "rawlist", calls, "smismember")
		rawSecs := time.Since(start).Seconds()
		start = time.Now()
		for lo := 0; lo < len(written); lo += 10_000 {
			if _, err := enf.CheckMany(ctx, "acme", written[lo:min(lo+10_000, len(written))]); err != nil {
				t.Fatal(err)
			}
		}
		libSecs := time.Since(start).Seconds()
		secs, maxrss := dncctlRun(t, bin, "scrub", "-redis", url, "-org", "acme", "-o", filepath.Join(dir, "dial.csv"), "-skipped", filepath.Join(dir, "skip.csv"), callFile)
		scrub, rawCheck, batch = append(scrub, float64(n)/secs), append(rawCheck, float64(n)/rawSecs), append(batch, float64(n)/libSecs)
		t.Logf("rep %d: scrub %.0f rows/s (%.1f s, peak RSS %d MB) vs raw SMISMEMBER %.0f/s: %.3f×; CheckMany alone %.0f/s: %.3f×",
			rep, float64(n)/secs, secs, maxrss>>10, float64(n)/rawSecs, rawSecs/secs, float64(n)/libSecs, rawSecs/libSecs)
	}
	t.Logf("scrub: %s rows/s, raw SMISMEMBER %s/s, ratio %s; CheckMany alone %s/s, ratio %s", spread(scrub), spread(rawCheck),
		ratios(rawCheck, scrub, 1), spread(batch), ratios(rawCheck, batch, 1))

	var exp []float64
	for rep := range reps {
		secs, maxrss := dncctlRun(t, bin, "export", "-redis", url, "-org", "acme", "-o", filepath.Join(dir, "export.csv"))
		exp = append(exp, float64(len(unique))/secs)
		t.Logf("rep %d: export %.0f rows/s (%.1f s, peak RSS %d MB)", rep, float64(len(unique))/secs, secs, maxrss>>10)
	}
	t.Logf("export: %s rows/s", spread(exp))

	if big := envInt(t, "DNC_SCALE_RSS_N", 0); big > 0 {
		flush(t, rdb)
		f := filepath.Join(dir, "big.csv")
		writeImportFile(t, f, numgen.E164(13, big))
		secs, maxrss := dncctlRun(t, bin, "import", "-redis", url, "-org", "big", f)
		t.Logf("import of %d rows (%d bytes): %.0f rows/s, peak RSS %d MB", big, fileSize(t, f), float64(big)/secs, maxrss>>10)
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		t.Fatalf("%s=%q: want a number", name, s)
	}
	return v
}

// writeImportFile writes a CSV of len(list) rows: the numbers in mixed formats, with
// type and batch columns; one row in 100 invalid and one in 20 repeating an earlier
// row's number in another format. It returns the distinct valid numbers it holds.
func writeImportFile(t *testing.T, path string, list []string) []string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(5, 5))
	types := []string{"customer_request", "complaint", "internal"}
	fmt.Fprintln(w, "phone,type,batch_id,name")
	var unique []string
	for i, e := range list {
		switch x := r.IntN(100); {
		case x == 0:
			fmt.Fprintf(w, "555-%04d,complaint,b%d,Bad\n", r.IntN(10000), i/10000)
		case x <= 5 && len(unique) > 0:
			fmt.Fprintf(w, "%s,,b%d,Again\n", numgen.Format(unique[r.IntN(len(unique))], i+1), i/10000)
		default:
			unique = append(unique, e)
			fmt.Fprintf(w, "\"%s\",%s,b%d,Name %d\n", numgen.Format(e, i), types[i%3], i/10000, i)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	return unique
}

func writeCallFile(t *testing.T, path string, calls []string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,phone,name")
	for i, e := range calls {
		fmt.Fprintf(w, "%d,%s,Customer %d\n", i, numgen.Format(e, i), i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}

// rawPipelined sends cmd over numbers, 1,000 members a command, 10 commands a pipeline.
func rawPipelined(ctx context.Context, t *testing.T, rdb *redis.Client, key string, numbers []string, cmd string) {
	t.Helper()
	for lo := 0; lo < len(numbers); lo += 10_000 {
		pipe := rdb.Pipeline()
		for c := lo; c < min(lo+10_000, len(numbers)); c += 1000 {
			ms := make([]any, 0, 1000)
			for _, n := range numbers[c:min(c+1000, len(numbers))] {
				ms = append(ms, n)
			}
			if cmd == "sadd" {
				pipe.SAdd(ctx, key, ms...)
			} else {
				pipe.SMIsMember(ctx, key, ms...)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func flush(t *testing.T, rdb *redis.Client) {
	t.Helper()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// dncctlRun runs the binary and returns its wall time and peak RSS in KB, read from
// /proc (VmHWM) every 20 ms while it runs: the rusage that Wait returns would report
// the test process's own size, which the child inherits at fork.
func dncctlRun(t *testing.T, bin string, args ...string) (float64, int64) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var peak int64
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("dncctl %v: %v\n%s", args, err, errOut.String())
			}
			return time.Since(start).Seconds(), peak
		case <-time.After(20 * time.Millisecond):
			if b, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						peak = max(peak, kb)
					}
				}
			}
		}
	}
}

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// spread is "median (min–max)".
func spread(v []float64) string {
	s := slices.Sorted(slices.Values(v))
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s[len(s)/2], s[0], s[len(s)-1])
}

// ratios is the median and range of lib[i] / raw[i], in the same run, with raw's
// throughput scaled by k (numbers per row).
func ratios(raw, lib []float64, k float64) string {
	r := make([]float64, len(raw))
	for i := range raw {
		r[i] = lib[i] / (raw[i] / k)
	}
	slices.Sort(r)
	return fmt.Sprintf("%.3f× (%.3f–%.3f)", r[len(r)/2], r[0], r[len(r)-1])
}

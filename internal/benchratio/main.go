// Command benchratio reads `go test -bench` output (several -count runs) on stdin and
// prints, per benchmark, the median ns/op, B/op and allocs/op, and its ratio to the
// baseline of its group: the sibling sub-benchmark whose name starts with "Raw" (or
// "Reference"), taken as the median of the per-run ratios, so each ratio compares two
// numbers measured side by side.
//
//	go test ./dnc -run '^$' -bench . -count 6 | go run ./internal/benchratio
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type sample struct{ ns, bytes, allocs float64 }

// line matches a result line; B/op and allocs/op may follow metrics of the benchmark's
// own (b.ReportMetric), such as "702.7 ns/number".
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ [^\s/]+/[^\s]+?)*?(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?\s*$`)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	runs := map[string][]sample{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var s sample
		s.ns, _ = strconv.ParseFloat(m[2], 64)
		s.bytes, _ = strconv.ParseFloat(m[3], 64)
		s.allocs, _ = strconv.ParseFloat(m[4], 64)
		if _, ok := runs[m[1]]; !ok {
			order = append(order, m[1])
		}
		runs[m[1]] = append(runs[m[1]], s)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%-60s %4s %12s %10s %8s %s\n", "benchmark", "runs", "median ns/op", "B/op", "allocs", "ratio to baseline (median of per-run ratios, min-max)")
	for _, name := range order {
		ss := runs[name]
		fmt.Fprintf(out, "%-60s %4d %12.0f %10.0f %8.0f", name, len(ss),
			median(ss, func(s sample) float64 { return s.ns }),
			median(ss, func(s sample) float64 { return s.bytes }),
			median(ss, func(s sample) float64 { return s.allocs }))
		if base := baseline(name, order); base != "" && base != name {
			bs := runs[base]
			var ratios []float64
			for i := 0; i < len(ss) && i < len(bs); i++ {
				ratios = append(ratios, ss[i].ns/bs[i].ns)
			}
			slices.Sort(ratios)
			fmt.Fprintf(out, "  %.3fx vs %s (%.3f-%.3f)", medianOf(ratios), base[strings.LastIndex(base, "/")+1:], ratios[0], ratios[len(ratios)-1])
		}
		fmt.Fprintln(out)
	}
	return nil
}

// baseline returns the sibling of name (same parent) whose last element starts with
// "Raw" or "Reference"; for "Group/Shape/fast" the sibling "Group/Shape/reference".
func baseline(name string, all []string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return ""
	}
	parent := name[:i+1]
	for _, n := range all {
		if strings.HasPrefix(n, parent) && !strings.Contains(n[len(parent):], "/") {
			last := strings.ToLower(n[len(parent):])
			if strings.HasPrefix(last, "raw") || strings.HasPrefix(last, "reference") {
				return n
			}
		}
	}
	return ""
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

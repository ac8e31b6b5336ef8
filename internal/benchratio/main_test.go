package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `BenchmarkCheck/RawSISMEMBER-2   100  20000 ns/op  232 B/op  7 allocs/op
BenchmarkCheck/ShouldSkip-2   100  30000 ns/op  400 B/op  12 allocs/op
BenchmarkCheck/RawSISMEMBER-2   100  40000 ns/op  232 B/op  7 allocs/op
BenchmarkCheck/ShouldSkip-2   100  44000 ns/op  400 B/op  12 allocs/op
BenchmarkCheck/RawSISMEMBER-2   100  30000 ns/op  232 B/op  7 allocs/op
BenchmarkCheck/ShouldSkip-2   100  36000 ns/op  400 B/op  12 allocs/op
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// ratios per run: 1.5, 1.1, 1.2 -> median 1.2; median ns 36000.
	for _, want := range []string{"BenchmarkCheck/ShouldSkip", "36000", "1.200x vs RawSISMEMBER (1.100-1.500)", "BenchmarkCheck/RawSISMEMBER"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestOwnMetrics(t *testing.T) {
	in := `BenchmarkScrub/calls-of-1000/RawSMISMEMBER-2  16  70269370 ns/op  702.7 ns/number  1761843 B/op  540 allocs/op
BenchmarkScrub/calls-of-1000/CheckMany-2  2  659227428 ns/op  6592 ns/number  52509720 B/op  938497 allocs/op
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"52509720", "938497", "1761843", "540", "9.381x vs RawSMISMEMBER"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

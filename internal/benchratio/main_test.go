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

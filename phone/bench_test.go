package phone

import "testing"

// benchShapes are the shapes BenchmarkNormalize measures, each a valid number.
var benchShapes = []struct{ name, raw, region string }{
	{"E164", "+14155552671", "US"},
	{"E164-GB", "+442079460958", "US"},
	{"US-paren", "(415) 555-2671", "US"},
	{"US-dots", "415.555.2671", "US"},
	{"US-1-dashes", "1-415-555-2671", "US"},
	{"US-digits", "4155552671", "US"},
	{"CA-national", "(613) 555-0199", "CA"},
	{"GB-national", "020 7946 0958", "GB"},
	{"DE-national", "030 1234567", "DE"},
	{"IN-national", "098765 43210", "IN"},
	{"FR-national", "01 23 45 67 89", "FR"},
	{"BR-national", "(11) 91234-5678", "BR"},
	{"AU-national", "0412 345 678", "AU"},
	{"JP-national", "03-1234-5678", "JP"},
	{"IT-national", "06 1234 5678", "IT"},
	{"IDD-US-to-GB", "011 44 20 7946 0958", "US"},
	{"IDD-GB-to-DE", "00 49 30 1234567", "GB"},
	{"plus-0-GB", "+44 (0) 20 7946 0958", "US"},
	{"extension", "+1 212-555-1234 ext. 9", "US"},
	{"tel-URI", "tel:+1-212-555-1234", "US"},
	{"vanity", "1-800-FLOWERS", "US"},
	{"invalid-US", "555-0100", "US"},
}

// BenchmarkNormalize measures Normalize ("fast") and the reference path side by side
// for each shape:
//
//	go test ./phone -run '^$' -bench '^BenchmarkNormalize$' -count 6
func BenchmarkNormalize(b *testing.B) {
	if err := Warm(diffRegions...); err != nil {
		b.Fatal(err)
	}
	for _, s := range benchShapes {
		want, werr := reference(s.raw, s.region)
		got, gerr := Normalize(s.raw, s.region)
		if got != want || (gerr == nil) != (werr == nil) {
			b.Fatalf("%s: Normalize = %q, %v; reference = %q, %v", s.name, got, gerr, want, werr)
		}
		b.Run(s.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Normalize(s.raw, s.region)
			}
		})
		b.Run(s.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = reference(s.raw, s.region)
			}
		})
	}
}

// TestNormalizeFastShapes checks that the shapes the fast path promises are decided
// without the reference path, and that E.164 and the common US national formats cost
// at most 2 allocations (the digits and the result).
func TestNormalizeFastShapes(t *testing.T) {
	lean := map[string]bool{"E164": true, "E164-GB": true, "US-paren": true, "US-dots": true,
		"US-1-dashes": true, "US-digits": true}
	fallback := map[string]bool{"vanity": true}
	for _, s := range benchShapes {
		if got := fastPathTaken(s.raw, s.region); got == fallback[s.name] {
			t.Errorf("%s: fast path taken = %v, want %v", s.name, got, !fallback[s.name])
		}
		if !lean[s.name] || raceEnabled {
			continue
		}
		if n := testing.AllocsPerRun(200, func() { _, _ = Normalize(s.raw, s.region) }); n > 2 {
			t.Errorf("%s: Normalize(%q) makes %v allocations, want at most 2", s.name, s.raw, n)
		}
	}
}

package phone

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// benchShapes are single inputs of each shape the fast path decides (and a few it
// does not), each a valid number except the last.
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

// benchInput is one input and its default region.
type benchInput struct{ raw, region string }

// distinctValid returns n distinct valid numbers of region, from a fixed seed: the
// region's fixed-line and mobile example numbers with up to seven trailing digits
// drawn at random, kept when phonenumbers says they are valid.
func distinctValid(rng *rand.Rand, region string, n int) []*phonenumbers.PhoneNumber {
	var examples []*phonenumbers.PhoneNumber
	for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE} {
		if ex := phonenumbers.GetExampleNumberForType(region, typ); ex != nil {
			examples = append(examples, ex)
		}
	}
	seen := make(map[string]bool)
	var out []*phonenumbers.PhoneNumber
	for len(out) < n {
		ex := examples[rng.IntN(len(examples))]
		nsn := []byte(phonenumbers.GetNationalSignificantNumber(ex))
		for k := 1; k <= 7 && k < len(nsn)-2; k++ {
			nsn[len(nsn)-k] = byte('0' + rng.IntN(10))
		}
		num, err := phonenumbers.Parse("+"+strconv.Itoa(int(ex.GetCountryCode()))+string(nsn), "ZZ")
		if err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.GetRegionCodeForNumber(num) != region || seen[string(nsn)] {
			continue
		}
		seen[string(nsn)] = true
		out = append(out, num)
	}
	return out
}

// distinctShapes are the shapes BenchmarkNormalize measures, each on distinct valid
// numbers written the same way.
var distinctShapes = []struct {
	name, region string
	write        func(num *phonenumbers.PhoneNumber) string
}{
	{"E164-US", "US", func(n *phonenumbers.PhoneNumber) string { return phonenumbers.Format(n, phonenumbers.E164) }},
	{"US-paren", "US", func(n *phonenumbers.PhoneNumber) string { return phonenumbers.Format(n, phonenumbers.NATIONAL) }},
	{"US-dots", "US", func(n *phonenumbers.PhoneNumber) string { s := nsnOf(n); return s[:3] + "." + s[3:6] + "." + s[6:] }},
	{"US-1-dashes", "US", func(n *phonenumbers.PhoneNumber) string {
		s := nsnOf(n)
		return "1-" + s[:3] + "-" + s[3:6] + "-" + s[6:]
	}},
	{"US-digits", "US", nsnOf},
	{"CA-national", "CA", national},
	{"GB-national", "GB", national},
	{"DE-national", "DE", national},
	{"FR-national", "FR", national},
	{"IN-national", "IN", national},
	{"BR-national", "BR", national},
	{"AU-national", "AU", national},
	{"JP-national", "JP", national},
	{"IT-national", "IT", national},
}

func nsnOf(n *phonenumbers.PhoneNumber) string { return phonenumbers.GetNationalSignificantNumber(n) }
func national(n *phonenumbers.PhoneNumber) string {
	return phonenumbers.Format(n, phonenumbers.NATIONAL)
}

// distinctInputs returns n distinct inputs of each shape of distinctShapes (shapes of
// one region share numbers), and "Mixed": all of them interleaved.
func distinctInputs(n int) map[string][]benchInput {
	rng := rand.New(rand.NewPCG(2026, 8))
	byRegion := make(map[string][]*phonenumbers.PhoneNumber)
	sets := make(map[string][]benchInput)
	for _, s := range distinctShapes {
		if byRegion[s.region] == nil {
			byRegion[s.region] = distinctValid(rng, s.region, n)
		}
		for _, num := range byRegion[s.region] {
			sets[s.name] = append(sets[s.name], benchInput{s.write(num), s.region})
		}
	}
	for i := 0; i < n; i++ {
		for _, s := range distinctShapes {
			sets["Mixed"] = append(sets["Mixed"], sets[s.name][i])
		}
	}
	return sets
}

// BenchmarkNormalize measures Normalize ("fast") and the reference path side by side
// on distinct valid numbers of each shape, and on all shapes mixed; benchratio prints
// each fast/reference ratio (0.01x is 100 times faster):
//
//	go test ./phone -run '^$' -bench '^BenchmarkNormalize$' -count 6 | go run ./internal/benchratio
func BenchmarkNormalize(b *testing.B) {
	if err := Warm(diffRegions...); err != nil {
		b.Fatal(err)
	}
	sets := distinctInputs(2048)
	for _, name := range append(shapeNames(), "Mixed") {
		in := sets[name]
		for _, x := range in[:64] {
			want, werr := reference(x.raw, x.region)
			if got, gerr := Normalize(x.raw, x.region); werr != nil || got != want || gerr != nil {
				b.Fatalf("%s: Normalize(%q) = %q, %v; reference = %q, %v", name, x.raw, got, gerr, want, werr)
			}
		}
		b.Run(name+"/fast", func(b *testing.B) { benchInputs(b, in, Normalize) })
		b.Run(name+"/reference", func(b *testing.B) { benchInputs(b, in, reference) })
	}
}

func shapeNames() []string {
	var out []string
	for _, s := range distinctShapes {
		out = append(out, s.name)
	}
	return out
}

func benchInputs(b *testing.B, in []benchInput, f func(string, string) (string, error)) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := in[i%len(in)]
		if _, err := f(x.raw, x.region); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeShapes measures one input of each of benchShapes, including the
// shapes that fall back to the reference path:
//
//	go test ./phone -run '^$' -bench '^BenchmarkNormalizeShapes$' -count 6 | go run ./internal/benchratio
func BenchmarkNormalizeShapes(b *testing.B) {
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
// without the reference path, and that on distinct valid numbers E.164 input costs
// no allocation and the national formats of distinctShapes at most one (the result),
// none when AppendNormalized writes it into a buffer with room.
func TestNormalizeFastShapes(t *testing.T) {
	fallback := map[string]bool{"vanity": true}
	for _, s := range benchShapes {
		if got := fastPathTaken(s.raw, s.region); got == fallback[s.name] {
			t.Errorf("%s: fast path taken = %v, want %v", s.name, got, !fallback[s.name])
		}
	}
	if raceEnabled {
		return // the race detector allocates on its own
	}
	sets := distinctInputs(100)
	for _, name := range shapeNames() {
		want := 1.0
		if name == "E164-US" {
			want = 0
		}
		for _, x := range sets[name] {
			if !fastPathTaken(x.raw, x.region) {
				t.Errorf("%s: %q under %s: fast path not taken", name, x.raw, x.region)
			}
			if n := testing.AllocsPerRun(20, func() { _, _ = Normalize(x.raw, x.region) }); n > want {
				t.Errorf("%s: Normalize(%q, %s) makes %v allocations, want at most %v", name, x.raw, x.region, n, want)
				break
			}
			buf := make([]byte, 0, 32)
			if n := testing.AllocsPerRun(20, func() { _, _ = AppendNormalized(buf, x.raw, x.region) }); n > 0 {
				t.Errorf("%s: AppendNormalized(buf, %q, %s) makes %v allocations, want none", name, x.raw, x.region, n)
				break
			}
		}
	}
}

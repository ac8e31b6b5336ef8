package phone

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// TestEveryRegionCompiles checks that the metadata patterns of every region
// phonenumbers knows compile into digit automata exactly (no region is left to the
// reference path), and reports the largest automaton.
func TestEveryRegionCompiles(t *testing.T) {
	start := time.Now()
	maxStates, maxID := 0, ""
	for id := range phonenumbers.GetSupportedRegions() {
		ri := loadRegion(id)
		if ri == nil {
			t.Errorf("region %s: patterns not compiled; it would take the reference path", id)
			continue
		}
		if n := len(ri.valid.end); n > maxStates {
			maxStates, maxID = n, id
		}
	}
	t.Logf("%d regions in %v; largest validity automaton: %s, %d states",
		len(phonenumbers.GetSupportedRegions()), time.Since(start).Round(time.Millisecond), maxID, maxStates)
}

// digitInputs returns digit strings to try a pattern on: every prefix of the example
// numbers of region m, each with its last digits changed, and random strings of 0 to
// 18 digits (200, or 40 under the race detector).
func digitInputs(rng *rand.Rand, m *phonenumbers.PhoneMetadata) []string {
	var out []string
	for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(),
		m.GetPremiumRate(), m.GetVoip(), m.GetUan()} {
		ex := d.GetExampleNumber()
		for i := 0; i <= len(ex); i++ {
			out = append(out, ex[:i], mutateTail(rng, ex[:i], 2), "0"+ex[:i], m.GetNationalPrefix()+ex[:i])
		}
	}
	random := 200
	if raceEnabled {
		random = 40 // regexp under the race detector is slow; the prefixes above stay
	}
	for i := 0; i < random; i++ {
		out = append(out, randDigits(rng, rng.IntN(19)))
	}
	return out
}

// TestDFAMatchesRegexp checks the automata against package regexp on every region's
// patterns: a full match as "^(?:p)$", a prefix match as "^(?:p)", and, where only one
// prefix matches, its end as FindStringIndex.
func TestDFAMatchesRegexp(t *testing.T) {
	loadTables()
	rng := rand.New(rand.NewPCG(3, 5))
	for id, m := range metaByID {
		inputs := digitInputs(rng, m)
		var pats []string
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetGeneralDesc(), m.GetFixedLine(), m.GetMobile(),
			m.GetTollFree(), m.GetPremiumRate(), m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(),
			m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			pats = append(pats, d.GetNationalNumberPattern())
		}
		pats = append(pats, m.GetNationalPrefixForParsing(), m.GetInternationalPrefix(), m.GetLeadingDigits())
		if np := m.GetNationalPrefixForParsing(); m.GetNationalPrefixTransformRule() != "" {
			checkTagged(t, id, np, inputs)
		}
		for _, p := range pats {
			d, err := compileDFA(p)
			if err != nil {
				t.Errorf("%s: %q: %v", id, p, err)
				continue
			}
			full := regexp.MustCompile("^(?:" + p + ")$")
			pre := regexp.MustCompile("^(?:" + p + ")")
			for _, in := range inputs {
				b := []byte(in)
				if got, want := d.full(b)&1 != 0, full.MatchString(in); got != want {
					t.Errorf("%s: %q full match of %q = %v, regexp %v", id, p, in, got, want)
				}
				if got, want := d.prefix(b), pre.MatchString(in); got != want {
					t.Errorf("%s: %q prefix match of %q = %v, regexp %v", id, p, in, got, want)
				}
				if n, end := d.prefixEnds(b); n == 1 {
					if loc := pre.FindStringIndex(in); loc == nil || loc[1] != end {
						t.Errorf("%s: %q on %q: the one prefix match ends at %d, regexp %v", id, p, in, end, loc)
					}
				}
			}
		}
	}
}

// TestDFARefuses checks that what an automaton cannot represent exactly is refused,
// so that the caller keeps the reference path: word boundaries, patterns that do not
// parse, automata over the state cap, and more than 16 patterns at once.
func TestDFARefuses(t *testing.T) {
	many := make([]string, 17)
	for i := range many {
		many[i] = "1"
	}
	for name, pats := range map[string][]string{
		"word boundary": {`\b12`},
		"parse error":   {`1(2`},
		"state cap":     {`[01]*1[01]{13}`},
		"17 patterns":   many,
		"no pattern":    nil,
	} {
		if _, err := compileDFA(pats...); err == nil {
			t.Errorf("%s: compileDFA(%q) succeeded, want errDFARefused", name, pats)
		}
	}
	// "^" holds only at the start, "$" only at the end.
	d, err := compileDFA(`^12$|1`)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][2]bool{"12": {true, true}, "123": {false, true}, "1": {true, true}, "2": {false, false}} {
		if full, pre := d.full([]byte(in))&1 != 0, d.prefix([]byte(in)); full != want[0] || pre != want[1] {
			t.Errorf("`^12$|1` on %q: full %v, prefix %v; want %v", in, full, pre, want)
		}
	}
}

// checkTagged checks the tracking of a national prefix pattern's last capture group:
// when the automaton says no match goes through it, regexp's match must not have it.
func checkTagged(t *testing.T, id, p string, inputs []string) {
	t.Helper()
	pre := regexp.MustCompile("^(?:" + p + ")")
	g := pre.NumSubexp()
	d, err := compileTagged(g, p)
	if err != nil {
		t.Errorf("%s: %q: %v", id, p, err)
		return
	}
	for _, in := range inputs {
		if groups := pre.FindStringSubmatchIndex(in); groups != nil && !d.anyTagged([]byte(in)) && groups[2*g] >= 0 {
			t.Errorf("%s: %q on %q: automaton says group %d cannot take part, regexp has it at %v", id, p, in, g, groups)
		}
	}
}

package phone

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// diffRegions are the default regions the differential test and the fuzz target
// exercise.
var diffRegions = []string{"US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU",
	"NZ", "BR", "MX", "JP", "KR", "CN", "ZA", "NG", "AE", "SG"}

// sentinels, in the order classify reports them.
var sentinels = []error{ErrEmpty, ErrTooLong, ErrNotANumber, ErrInvalid, ErrUnknownRegion}

// classify names the sentinel err wraps ("" for nil, "?" for none of them).
func classify(err error) string {
	if err == nil {
		return ""
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "?"
}

// compareWithReference runs Normalize and reference on one input and describes any
// difference: in the E.164 string, in the sentinel wrapped, or in the error text.
func compareWithReference(raw, region string) (valid bool, diff string) {
	got, gerr := Normalize(raw, region)
	want, werr := reference(raw, region)
	switch {
	case got != want:
		return werr == nil, fmt.Sprintf("Normalize(%q, %q) = %q, %v; reference = %q, %v", raw, region, got, gerr, want, werr)
	case classify(gerr) != classify(werr):
		return werr == nil, fmt.Sprintf("Normalize(%q, %q) err = %v; reference err = %v (sentinel differs)", raw, region, gerr, werr)
	case gerr != nil && gerr.Error() != werr.Error():
		return false, fmt.Sprintf("Normalize(%q, %q) err = %q; reference err = %q (text differs)", raw, region, gerr, werr)
	}
	return werr == nil, ""
}

// --- generator ---------------------------------------------------------------

// poolNumber is one number known to phonenumbers, in the forms the generator starts
// from. Digits are mutated positionally, so the formatted forms stay aligned.
type poolNumber struct {
	region, cc, nsn, national, intl string
}

// iddFor are the international dialling prefixes people type from each region.
var iddFor = map[string][]string{
	"US": {"011"}, "CA": {"011"}, "AU": {"0011"}, "JP": {"010"}, "KR": {"001", "002", "00700"},
	"SG": {"001", "000", "008"}, "BR": {"0021", "0014", "0015"}, "NG": {"009", "00"},
	"MX": {"00", "09"}, "CN": {"00"},
}

var numberTypes = []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE,
	phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
	phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}

var (
	poolOnce sync.Once
	pool     map[string][]poolNumber // by region
)

// numberPool builds, once, a pool of valid numbers per region: the example number of
// every type phonenumbers has one for, and variants of it with random last digits
// (most of which stay valid), each formatted nationally and internationally.
func numberPool() map[string][]poolNumber {
	poolOnce.Do(func() {
		pool = make(map[string][]poolNumber)
		rng := rand.New(rand.NewPCG(7, 11))
		for _, r := range diffRegions {
			for _, typ := range numberTypes {
				ex := phonenumbers.GetExampleNumberForType(r, typ)
				if ex == nil {
					continue
				}
				cc := strconv.Itoa(int(ex.GetCountryCode()))
				nsn := phonenumbers.GetNationalSignificantNumber(ex)
				for v := 0; v < 12; v++ {
					digits := nsn
					if v > 0 {
						b := []byte(nsn)
						for k := 0; k < 4 && k < len(b)-2; k++ {
							b[len(b)-1-k] = byte('0' + rng.IntN(10))
						}
						digits = string(b)
					}
					num, err := phonenumbers.Parse("+"+cc+digits, "ZZ")
					if err != nil {
						continue
					}
					pool[r] = append(pool[r], poolNumber{
						region: r, cc: cc, nsn: digits,
						national: phonenumbers.Format(num, phonenumbers.NATIONAL),
						intl:     phonenumbers.Format(num, phonenumbers.INTERNATIONAL),
					})
				}
			}
		}
	})
	return pool
}

// mutateTail replaces up to k of the last ASCII digits of s with random digits.
func mutateTail(rng *rand.Rand, s string, k int) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0 && k > 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = byte('0' + rng.IntN(10))
			k--
		}
	}
	return string(b)
}

func randDigits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

var seps = []string{" ", " ", "-", ".", "", "  ", " - ", "/"}

// group writes digits in random groups of 2 to 4 joined by one separator, with the
// first group in parentheses now and then.
func group(rng *rand.Rand, digits string) string {
	sep := seps[rng.IntN(len(seps))]
	var sb strings.Builder
	paren := rng.IntN(5) == 0
	for i, first := 0, true; i < len(digits); first = false {
		n := 2 + rng.IntN(3)
		if i+n > len(digits) {
			n = len(digits) - i
		}
		if !first {
			sb.WriteString(sep)
		}
		if first && paren {
			sb.WriteString("(" + digits[i:i+n] + ")")
		} else {
			sb.WriteString(digits[i : i+n])
		}
		i += n
	}
	return sb.String()
}

func onlyDigits(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

var (
	extensions = []string{" ext. 123", " x12", "x99", " ext 7", ";ext=12", " #123", ",,55",
		" extension 9", " - 503#", " X 4", ";4", ", 77", " ext.", " x"}
	leadJunk = []string{"Tel: ", "tel:", "  ", "(", "*", "#", "Phone ", "\u00a0", "- ", ". ",
		"((", "\t", "+", "++", "ｔ", ":", "Mobile: +"}
	trailJunk = []string{" ", ".", ")", " -", "#", "*", "\t", "\u00a0", " abc", "--", "..", "(",
		"+", "/", " )", "\n"}
	vanity = "ABCDEFGHIJKLMNOPRSTUVWXY"
)

// genInput returns one input and its default region. Every shape the issue lists is
// produced: E.164, national formats with spaces, dots, dashes and parentheses, IDD
// prefixes, extensions, letters, leading and trailing junk, too-short and too-long
// numbers and random digit strings, each under its own region or another one.
func genInput(rng *rand.Rand) (raw, region string) {
	p := numberPool()
	region = diffRegions[rng.IntN(len(diffRegions))]
	src := region
	if rng.IntN(4) == 0 {
		src = diffRegions[rng.IntN(len(diffRegions))]
	}
	nums := p[src]
	n := nums[rng.IntN(len(nums))]
	if rng.IntN(2) == 0 {
		k := 1 + rng.IntN(3)
		n.nsn, n.national, n.intl = mutateTail(rng, n.nsn, k), mutateTail(rng, n.national, k), mutateTail(rng, n.intl, k)
	}
	// Too short or too long now and then.
	switch rng.IntN(12) {
	case 0:
		cut := 1 + rng.IntN(4)
		if cut < len(n.nsn) {
			n.nsn = n.nsn[:len(n.nsn)-cut]
			n.national = n.national[:max(0, len(n.national)-cut)]
			n.intl = n.intl[:max(0, len(n.intl)-cut)]
		}
	case 1:
		more := randDigits(rng, 1+rng.IntN(4))
		n.nsn += more
		n.national += more
		n.intl += more
	}

	raw = genShape(rng, n, region)
	return decorate(rng, raw, n.cc), region
}

// genShape writes the number n in one of the shapes the issue lists, picked at random:
// E.164, international and national as phonenumbers formats them, national digits
// regrouped, country code without a plus, IDD prefixes of region (or wrong ones),
// "+CC (0)", random digit strings with and without a plus, and short strings.
func genShape(rng *rand.Rand, n poolNumber, region string) (raw string) {
	switch rng.IntN(16) {
	case 0, 1, 2: // E.164
		raw = "+" + n.cc + n.nsn
	case 3, 4: // international, as phonenumbers formats it
		raw = n.intl
	case 5, 6: // national, as phonenumbers formats it
		raw = n.national
	case 7, 8: // national digits regrouped with other separators
		raw = group(rng, onlyDigits(n.national))
	case 9: // NANPA-style leading 1, or the country code without a plus
		if n.cc == "1" {
			raw = "1" + seps[rng.IntN(3)] + group(rng, n.nsn)
		} else {
			raw = n.cc + n.nsn
		}
	case 10: // IDD prefix of the default region (or a wrong one)
		idd := "00"
		if l, ok := iddFor[region]; ok && rng.IntN(5) != 0 {
			idd = l[rng.IntN(len(l))]
		} else if rng.IntN(3) == 0 {
			idd = "011"
		}
		raw = idd + seps[rng.IntN(4)] + n.cc + seps[rng.IntN(4)] + group(rng, n.nsn)
	case 11: // +CC (0) national
		raw = "+" + n.cc + " (0)" + group(rng, n.nsn)
	case 12: // random digit string
		raw = randDigits(rng, 1+rng.IntN(20))
		if rng.IntN(2) == 0 {
			raw = group(rng, raw)
		}
	case 13: // random digits after a plus
		raw = "+" + randDigits(rng, 1+rng.IntN(18))
	case 14: // national prefix and digits, no formatting
		raw = onlyDigits(n.national)
	case 15: // short strings
		raw = randDigits(rng, rng.IntN(4))
		if rng.IntN(2) == 0 {
			raw = seps[rng.IntN(len(seps))] + raw
		}
	}

	return raw
}

// decorate adds, now and then, an extension, vanity letters, a stray letter, leading
// or trailing junk, a full-width digit, RFC 3966 parameters or a run of spaces up to
// MaxInputLen to raw, the number of country code cc.
func decorate(rng *rand.Rand, raw, cc string) string {
	// Decorations.
	if rng.IntN(8) == 0 {
		raw += extensions[rng.IntN(len(extensions))]
	}
	if rng.IntN(20) == 0 && len(raw) > 4 { // vanity letters for the last digits
		b := []byte(raw)
		for i, k := len(b)-1, 3+rng.IntN(3); i >= 0 && k > 0; i-- {
			if b[i] >= '0' && b[i] <= '9' {
				b[i] = vanity[rng.IntN(len(vanity))]
				k--
			}
		}
		raw = string(b)
	}
	if rng.IntN(40) == 0 && len(raw) > 2 { // a stray letter
		i := rng.IntN(len(raw))
		raw = raw[:i] + string(rune('a'+rng.IntN(26))) + raw[i:]
	}
	if rng.IntN(12) == 0 {
		raw = leadJunk[rng.IntN(len(leadJunk))] + raw
	}
	if rng.IntN(12) == 0 {
		raw += trailJunk[rng.IntN(len(trailJunk))]
	}
	if rng.IntN(50) == 0 { // a full-width digit
		if i := strings.IndexAny(raw, "0123456789"); i >= 0 {
			raw = raw[:i] + string(rune('０'+rune(raw[i]-'0'))) + raw[i+1:]
		}
	}
	if rng.IntN(60) == 0 {
		raw = "tel:" + raw + ";phone-context=+" + cc
	}
	if rng.IntN(200) == 0 {
		raw = strings.Repeat(" ", MaxInputLen-len(raw)+rng.IntN(3)) + raw
	}
	return raw
}

// diffCount is how many inputs TestNormalizeMatchesReference checks: 50,000 by
// default (about a second), 10,000 with -short, and DNC_PHONE_DIFF_N when set (CI
// sets DNC_PHONE_DIFF_N=1000000). Under the race detector the default is
// raceDiffCount (see race_test.go), because the reference path alone is then about
// ten times slower.
func diffCount(t *testing.T) int {
	if s := os.Getenv("DNC_PHONE_DIFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("DNC_PHONE_DIFF_N=%q: want a positive integer", s)
		}
		return n
	}
	if testing.Short() {
		return 10_000
	}
	if raceEnabled {
		return raceDiffCount
	}
	return 50_000
}

// diffShards splits the generated inputs into a fixed number of deterministic
// streams, so the input set does not depend on GOMAXPROCS.
const diffShards = 16

type diffStats struct {
	inputs, valid, fast int
	diffs               []string
}

// TestNormalizeMatchesReference is the differential test: Normalize must return the
// same E.164 string as the reference path, and on failure an error wrapping the same
// sentinel with the same text, on every generated input.
func TestNormalizeMatchesReference(t *testing.T) {
	total := diffCount(t)
	numberPool()
	start := time.Now()
	results := make([]diffStats, diffShards)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for s := 0; s < diffShards; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(20260101, uint64(s)))
			st := &results[s]
			n := total / diffShards
			if s < total%diffShards {
				n++
			}
			for i := 0; i < n; i++ {
				raw, region := genInput(rng)
				valid, diff := compareWithReference(raw, region)
				st.inputs++
				if valid {
					st.valid++
				}
				if fastPathTaken(raw, region) {
					st.fast++
				}
				if diff != "" && len(st.diffs) < 20 {
					st.diffs = append(st.diffs, diff)
				}
			}
		}(s)
	}
	wg.Wait()
	var sum diffStats
	for _, st := range results {
		sum.inputs += st.inputs
		sum.valid += st.valid
		sum.fast += st.fast
		for _, d := range st.diffs {
			if len(sum.diffs) < 50 {
				sum.diffs = append(sum.diffs, d)
			}
		}
	}
	for _, d := range sum.diffs {
		t.Error(d)
	}
	t.Logf("%d inputs in %d regions: %d valid (%.1f%%), %d on the fast path (%.1f%%), %v",
		sum.inputs, len(diffRegions), sum.valid, pct(sum.valid, sum.inputs),
		sum.fast, pct(sum.fast, sum.inputs), time.Since(start).Round(time.Millisecond))
	if sum.inputs != total {
		t.Fatalf("checked %d inputs, want %d", sum.inputs, total)
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// TestNormalizeTableMatchesReference checks every case of the table test against the
// reference path too (the table itself is checked by TestNormalize).
func TestNormalizeTableMatchesReference(t *testing.T) {
	for _, c := range diffTableCases {
		if _, diff := compareWithReference(c[0], c[1]); diff != "" {
			t.Error(diff)
		}
	}
}

// diffTableCases mirrors the inputs of the table in phone_test.go, which lives in the
// external test package and so cannot be shared.
var diffTableCases = [][2]string{
	{"(212) 555-1234", "US"}, {"212-555-1234", "US"}, {"212.555.1234", "US"},
	{"2125551234", "US"}, {"1 212 555 1234", "US"}, {"1-212-555-1234", "US"},
	{"+1 212-555-1234", "US"}, {"+12125551234", "US"}, {"+1 212-555-1234 ext. 9", "US"},
	{"+1 (212) 555-1234x99", "US"}, {"tel:+1-212-555-1234", "US"},
	{"tel:2125551234;phone-context=+1", "US"}, {"  (415) 555-2671  ", "US"},
	{"1-800-FLOWERS", "US"}, {"１２１２５５５１２３４", "US"}, {"٢١٢٥٥٥١٢٣٤", "US"},
	{"(212) 555-1234", "us"}, {"011 44 20 7946 0958", "US"}, {"+49 30 1234567", "US"},
	{"555-0100", "US"}, {"911", "US"}, {"212555123", "US"}, {"212555123456", "US"},
	{"(012) 555-1234", "US"}, {"", "US"}, {"   ", "US"}, {"abc", "US"},
	{"not a number", "US"}, {strings.Repeat("1", MaxInputLen+1), "US"},
	{"2125551234", "XX"}, {"2125551234", ""}, {"416-555-0199", "CA"},
	{"(613) 555-0199", "CA"}, {"1 604 555 0101", "CA"}, {"+1 416 555 0199", "GB"},
	{"020 7946 0958", "GB"}, {"(020) 7946-0958", "GB"}, {"07400 123456", "GB"},
	{"07700 900123", "GB"}, {"+44 (0) 20 7946 0958", "US"}, {"00 44 20 7946 0958", "GB"},
	{"0207946095", "GB"}, {"030 123456", "DE"}, {"030 1234567", "DE"},
	{"0151 23456789", "DE"}, {"+49 (0)30 1234567", "FR"}, {"0049 30 1234567", "DE"},
	{"098765 43210", "IN"}, {"98765 43210", "IN"}, {"+91 98765-43210", "US"},
	{"011 2345 6789", "IN"}, {"12345", "IN"}, {"0412 345 678", "AU"},
	{"(02) 9876 5432", "AU"}, {"+61 412 345 678", "US"}, {"0011 61 412 345 678", "AU"},
	{"(11) 91234-5678", "BR"}, {"(21) 2345-6789", "BR"}, {"+55 11 91234 5678", "US"},
	{"11 1234", "BR"},
}

// fastPathTaken reports whether Normalize decides raw without the reference path.
func fastPathTaken(raw, region string) bool {
	if len(raw) > MaxInputLen || !isUpperRegion(region) || strings.TrimSpace(raw) == "" {
		return false
	}
	def := loadRegion(region)
	if def == nil {
		return false
	}
	_, outcome, _ := normalizeFast(nil, raw, def)
	return outcome != fastFallback
}

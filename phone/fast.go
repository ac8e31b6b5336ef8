package phone

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// This file holds the fast path of Normalize: a re-statement of phonenumbers.Parse,
// IsValidNumber and Format(E164) for the inputs where Parse's many steps collapse to a
// few, evaluated on precompiled copies of phonenumbers' own metadata patterns.
//
// Shapes it decides itself, under a default region given in upper case: an optional
// run of leading ASCII junk without ';' ("tel:", "Tel: ", "("), then a number made
// only of ASCII digits, spaces, dots, dashes, parentheses and slashes, with at most one
// '+' at its start, then optionally an extension written "ext", "extn", "extension"
// or "x" (any case) with an optional '.' or ':', and digits. That covers E.164
// ("+14155552671"), national formats ("(415) 555-2671", "415.555.2671",
// "1-415-555-2671", "020 7946 0958"), national prefixes ("+44 (0) 20 7946 0958"),
// IDD prefixes ("011 44 20 7946 0958"), extensions ("+1 212-555-1234 ext. 9") and
// "tel:+1-212-555-1234"; invalid, too-short and too-long numbers of those shapes too.
//
// Shapes it hands to reference: letters anywhere else (vanity numbers such as
// "1-800-FLOWERS", trailing words), any other character (tabs, '#', '*', ';', ',',
// '~', '[', non-ASCII digits, spaces or plus signs), a second '+' or a '+' after a
// digit, an extension after a number with fewer than three digits or with a '/',
// RFC 3966 parameters (";phone-context=", ";ext="), a default region that is not in
// canonical upper case (or unknown), and numbers whose country calling code belongs
// to a non-geographic entity (+800, +808, +870, +878, +881, +882, +883, +888, +979).
//
// For every input it decides, it reaches the same result as reference, step by step:
// the comments name the phonenumbers function each step mirrors. The differential
// test, the fuzz target and the table test hold it to that.

// validationResult mirrors phonenumbers' ValidationResult for testNumberLength.
type validationResult uint8

const (
	isPossible validationResult = iota
	isPossibleLocalOnly
	tooShort
	invalidLength
	tooLong
)

// numberDesc is a compiled phonenumbers.PhoneNumberDesc.
type numberDesc struct {
	lengths []int32        // possible lengths; empty means any (isNumberPossibleForDesc)
	re      *regexp.Regexp // ^(?:national_number_pattern)$
}

// matches mirrors phonenumbers.isNumberMatchingDesc.
func (d *numberDesc) matches(nsn string) bool {
	if len(d.lengths) > 0 {
		found := false
		for _, l := range d.lengths {
			if int(l) == len(nsn) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return d.re.MatchString(nsn)
}

// regionInfo is what the fast path needs of one region's metadata, compiled once.
type regionInfo struct {
	id    string
	cc    int
	ccStr string

	// International (IDD) prefix: a literal digit string, or a regexp used exactly as
	// phonenumbers.parsePrefixAsIdd uses it (unanchored, match must start at 0).
	iddLit string
	iddRe  *regexp.Regexp

	// National prefix for parsing (maybeStripNationalPrefixAndCarrierCode).
	npLits      []string       // alternatives of a digits-only prefix with no transform rule
	npRe        *regexp.Regexp // ^(?:national_prefix_for_parsing), or nil
	npTransform string

	general      numberDesc
	generalLen   []int32 // possible lengths of the general desc (testNumberLength)
	localOnlyLen []int32

	leading *regexp.Regexp // ^(?:leading_digits), or nil

	// types are the descs getNumberTypeHelper tries after the general desc; a number
	// is valid for the region iff the general desc and at least one of them match.
	types []numberDesc
}

var (
	metaOnce  sync.Once
	metaByID  map[string]*phonenumbers.PhoneMetadata
	regionTab [26 * 26]atomic.Pointer[regionInfo]
	// unsupported marks a region whose info could not be built (never seen with
	// phonenumbers' own metadata); such regions always take the reference path.
	unsupported = &regionInfo{}
)

// regionIndex returns the table slot of a two-letter upper-case region code.
func regionIndex(id string) int {
	if len(id) != 2 || id[0] < 'A' || id[0] > 'Z' || id[1] < 'A' || id[1] > 'Z' {
		return -1
	}
	return int(id[0]-'A')*26 + int(id[1]-'A')
}

// loadRegion returns the compiled info of region id, building it on first use. It
// returns nil when the fast path does not model the region.
//
// The table is bounded by the regions phonenumbers knows (about 250), filled lazily,
// and never changes an entry once stored: one miss per region per process, every
// later call a hit.
func loadRegion(id string) *regionInfo {
	i := regionIndex(id)
	if i < 0 {
		return nil
	}
	if ri := regionTab[i].Load(); ri != nil {
		if ri == unsupported {
			return nil
		}
		return ri
	}
	ri := buildRegion(id)
	if ri == nil {
		ri = unsupported
	}
	if !regionTab[i].CompareAndSwap(nil, ri) {
		ri = regionTab[i].Load()
	}
	if ri == unsupported {
		return nil
	}
	return ri
}

func buildRegion(id string) *regionInfo {
	metaOnce.Do(func() {
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return
		}
		metaByID = make(map[string]*phonenumbers.PhoneMetadata, len(coll.GetMetadata()))
		for _, m := range coll.GetMetadata() {
			if m.GetId() != "001" {
				metaByID[m.GetId()] = m
			}
		}
	})
	m := metaByID[id]
	if m == nil || !phonenumbers.GetSupportedRegions()[id] {
		return nil
	}
	ri := &regionInfo{id: id, cc: int(m.GetCountryCode())}
	ri.ccStr = strconv.Itoa(ri.cc)
	var ok = true
	compile := func(pat string) *regexp.Regexp {
		re, err := regexp.Compile(pat)
		if err != nil {
			ok = false
		}
		return re
	}
	desc := func(d *phonenumbers.PhoneNumberDesc) numberDesc {
		if d == nil {
			ok = false
			return numberDesc{}
		}
		return numberDesc{lengths: d.GetPossibleLength(), re: compile("^(?:" + d.GetNationalNumberPattern() + ")$")}
	}

	if idd := m.GetInternationalPrefix(); idd != "" && allDigits(idd) {
		ri.iddLit = idd
	} else {
		ri.iddRe = compile(idd)
	}
	if np := m.GetNationalPrefixForParsing(); np != "" {
		ri.npTransform = m.GetNationalPrefixTransformRule()
		if lits := strings.Split(np, "|"); ri.npTransform == "" && allLiterals(lits) {
			// "0" or "0|180020": the regexp takes the first alternative that is a
			// prefix (leftmost-first), as the loop in stripNationalPrefix does.
			ri.npLits = lits
		} else {
			ri.npRe = compile("^(?:" + np + ")")
		}
	}
	ri.general = desc(m.GetGeneralDesc())
	if gd := m.GetGeneralDesc(); gd != nil {
		ri.generalLen = gd.GetPossibleLength()
		ri.localOnlyLen = gd.GetPossibleLengthLocalOnly()
	}
	if len(ri.generalLen) == 0 {
		ok = false // testNumberLength would index an empty slice
	}
	if ld := m.GetLeadingDigits(); ld != "" {
		ri.leading = compile("^(?:" + ld + ")")
	}
	// Any order gives the same answer to "is some type matched"; the likely ones first.
	ri.types = append(ri.types, desc(m.GetFixedLine()))
	if !m.GetSameMobileAndFixedLinePattern() {
		ri.types = append(ri.types, desc(m.GetMobile()))
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetTollFree(), m.GetPremiumRate(),
		m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(),
		m.GetVoicemail()} {
		ri.types = append(ri.types, desc(d))
	}
	if !ok {
		return nil
	}
	return ri
}

func allLiterals(alts []string) bool {
	for _, a := range alts {
		if a == "" || !allDigits(a) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// testLength mirrors phonenumbers.testNumberLength(number, metadata, UNKNOWN).
func (ri *regionInfo) testLength(number string) validationResult {
	pl := ri.generalLen
	if pl[0] == -1 {
		return invalidLength
	}
	n := int32(len(number))
	for _, l := range ri.localOnlyLen {
		if l == n {
			return isPossibleLocalOnly
		}
	}
	switch {
	case pl[0] == n:
		return isPossible
	case pl[0] > n:
		return tooShort
	case pl[len(pl)-1] < n:
		return tooLong
	}
	for _, l := range pl[1:] {
		if l == n {
			return isPossible
		}
	}
	return invalidLength
}

// stripNationalPrefix mirrors phonenumbers.maybeStripNationalPrefixAndCarrierCode and
// returns the number it leaves (number itself when nothing is stripped).
func (ri *regionInfo) stripNationalPrefix(number string) string {
	if len(number) == 0 {
		return number
	}
	if ri.npLits != nil {
		for _, lit := range ri.npLits {
			if strings.HasPrefix(number, lit) {
				if ri.general.re.MatchString(number) && !ri.general.re.MatchString(number[len(lit):]) {
					return number
				}
				return number[len(lit):]
			}
		}
		return number
	}
	if ri.npRe == nil || !ri.npRe.MatchString(number) {
		return number
	}
	viableOriginal := ri.general.re.MatchString(number)
	groups := ri.npRe.FindStringSubmatchIndex(number)
	numOfGroups := len(groups)/2 - 1
	if ri.npTransform == "" || groups[numOfGroups*2] < 0 {
		if viableOriginal && !ri.general.re.MatchString(number[groups[1]:]) {
			return number
		}
		return number[groups[1]:]
	}
	transformed := ri.npRe.ReplaceAllString(number, ri.npTransform)
	if viableOriginal && !ri.general.re.MatchString(transformed) {
		return number
	}
	return transformed
}

// matchIDD mirrors phonenumbers.parsePrefixAsIdd on an all-digit number: it reports
// whether the IDD prefix is stripped, and where the rest starts.
func (ri *regionInfo) matchIDD(digits string) (end int, ok bool) {
	if ri.iddRe == nil {
		if !strings.HasPrefix(digits, ri.iddLit) {
			return 0, false
		}
		end = len(ri.iddLit)
	} else {
		loc := ri.iddRe.FindStringIndex(digits)
		if loc == nil || loc[0] != 0 {
			return 0, false
		}
		end = loc[1]
	}
	// Country calling codes do not start with 0: then it was not an IDD.
	if end < len(digits) && digits[end] == '0' {
		return 0, false
	}
	return end, true
}

// validFor mirrors phonenumbers.getNumberTypeHelper(nsn, metadata) != UNKNOWN.
func (ri *regionInfo) validFor(nsn string) bool {
	if !ri.general.matches(nsn) {
		return false
	}
	for i := range ri.types {
		if ri.types[i].matches(nsn) {
			return true
		}
	}
	return false
}

// extensionStart reports whether raw[i:] is an extension written as one of the labels
// "ext", "extn", "extension" or "x" (any case), an optional '.' or ':', spaces or
// dashes, and then only digits (1 to 20, or 1 to 9 after "x"). If so it returns where
// phonenumbers' EXTN_PATTERN match starts: at the run of spaces before the label.
//
// That is exact for such a suffix after a number made only of digits, spaces, dots,
// dashes, parentheses and a leading '+': every alternative of EXTN_PATTERN needs a
// label (letters, '#', '~'), ",," or ';' reached from its start over spaces, tabs or
// commas only, so no match can start further left, and the suffix matches the
// explicit-label ("ext...", up to 20 digits) or the one-character-label ("x", up to
// 9 digits) alternative.
func extensionStart(raw string, start, i int) (int, bool) {
	rest := raw[i:]
	maxDigits := 20
	switch {
	case hasPrefixFold(rest, "extension"):
		rest = rest[len("extension"):]
	case hasPrefixFold(rest, "extn"):
		rest = rest[len("extn"):]
	case hasPrefixFold(rest, "ext"):
		rest = rest[len("ext"):]
	case rest[0] == 'x' || rest[0] == 'X':
		rest, maxDigits = rest[1:], 9
	default:
		return 0, false
	}
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ':') {
		rest = rest[1:]
	}
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '-') {
		rest = rest[1:]
	}
	if len(rest) == 0 || len(rest) > maxDigits || !allDigits(rest) {
		return 0, false
	}
	for i > start && raw[i-1] == ' ' {
		i--
	}
	return i, true
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w, in any case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if s[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// fastOutcome is what the fast path decided.
type fastOutcome uint8

const (
	fastFallback   fastOutcome = iota // not decided: use reference
	fastValid                         // valid; the E.164 string is returned
	fastInvalid                       // parsed but not valid: ErrInvalid
	fastNotANumber                    // Parse would fail: ErrNotANumber wrapping perr
)

// extractCountryCode mirrors phonenumbers.extractCountryCode.
func extractCountryCode(full string) (cc int, national string) {
	if len(full) == 0 || full[0] == '0' {
		return 0, ""
	}
	codes := phonenumbers.GetSupportedCallingCodes()
	v := 0
	for i := 1; i <= 3 && i <= len(full); i++ {
		v = v*10 + int(full[i-1]-'0')
		if codes[v] {
			return v, full[i:]
		}
	}
	return 0, ""
}

// fromInternational is the part of phonenumbers.maybeExtractCountryCode that follows
// a stripped '+' or IDD prefix.
func fromInternational(full string) (int, string, error) {
	if len(full) <= 2 { // MIN_LENGTH_FOR_NSN
		return 0, "", phonenumbers.ErrTooShortAfterIDD
	}
	cc, national := extractCountryCode(full)
	if cc == 0 {
		return 0, "", phonenumbers.ErrInvalidCountryCode
	}
	return cc, national, nil
}

// extractWithoutPlus mirrors phonenumbers.maybeExtractCountryCode for a number that
// does not start with '+', given its digits.
func extractWithoutPlus(digits string, def *regionInfo) (int, string, error) {
	if end, ok := def.matchIDD(digits); ok {
		return fromInternational(digits[end:])
	}
	if strings.HasPrefix(digits, def.ccStr) {
		potential := def.stripNationalPrefix(digits[len(def.ccStr):])
		fullValid := def.general.re.MatchString(digits)
		nationalValid := def.general.re.MatchString(potential)
		if (!fullValid && nationalValid) || def.testLength(digits) == tooLong {
			return def.cc, potential, nil
		}
	}
	return 0, "", nil
}

// normalizeFast decides raw under the default region def, or returns fastFallback. On
// fastValid it returns the E.164 string; on fastNotANumber the phonenumbers error
// Parse would have returned.
func normalizeFast(raw string, def *regionInfo) (string, fastOutcome, error) {
	// Leading junk: extractPossibleNumber drops everything before the first '+' or
	// digit. ASCII junk without ';' (which could start an RFC 3966 parameter such as
	// ";phone-context=") is dropped the same way: "tel:", "Tel: ", "(".
	start := 0
	for ; start < len(raw); start++ {
		c := raw[start]
		if c == '+' || (c >= '0' && c <= '9') {
			break
		}
		if c >= utf8.RuneSelf || c == ';' {
			return "", fastFallback, nil
		}
	}
	if start == len(raw) {
		return "", fastNotANumber, phonenumbers.ErrNotANumber
	}

	// The number: digits and the punctuation marks below only, up to an optional
	// extension. For them buildNationalNumberForParsing, maybeStripExtension and
	// normalize reduce to "drop the extension, keep the digits".
	var buf [MaxInputLen]byte
	nd, first, last, end := 0, -1, -1, len(raw)
	plus, contiguous, slash, ext := raw[start] == '+', true, false, false
scan:
	for i := start; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if nd == 0 {
				first = i
			} else if last != i-1 {
				contiguous = false
			}
			last = i
			buf[nd] = c
			nd++
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		case c == '/':
			slash = true
		case c == '+':
			if i != start {
				return "", fastFallback, nil
			}
		default:
			// Only a plain extension may follow; '/' could start a second number
			// (SECOND_NUMBER_START) before it.
			e, ok := extensionStart(raw, start, i)
			if !ok || slash {
				return "", fastFallback, nil
			}
			end, ext = e, true
			break scan
		}
	}
	// isViablePhoneNumber on the extracted number raw[start:] (trailing punctuation
	// is kept by phonenumbers' Go port): two bare digits, or at least three digits.
	// With an extension, both the whole and the part before it are viable when that
	// part has three digits; with fewer, which labels count depends on the regexp.
	if ext {
		if nd < 3 {
			return "", fastFallback, nil
		}
	} else if nd < 2 || (nd == 2 && end-start != 2) {
		return "", fastNotANumber, phonenumbers.ErrNotANumber
	}
	var digits string
	if contiguous {
		digits = raw[first : last+1]
	} else {
		digits = string(buf[:nd])
	}

	// maybeExtractCountryCode, with parseHelper's retry without the '+'.
	var (
		cc       int
		national string
		err      error
	)
	if plus {
		cc, national, err = fromInternational(digits)
		if err == phonenumbers.ErrInvalidCountryCode {
			cc, national, err = extractWithoutPlus(digits, def)
			if err == nil && cc == 0 {
				err = phonenumbers.ErrInvalidCountryCode
			}
		}
	} else {
		cc, national, err = extractWithoutPlus(digits, def)
	}
	if err != nil {
		return "", fastNotANumber, err
	}

	// The metadata the national prefix is stripped with: the default region's, or the
	// main region of the country code found in the number.
	npRegion := def
	if cc != 0 {
		if main := phonenumbers.GetRegionCodeForCountryCode(cc); main != def.id {
			if npRegion = loadRegion(main); npRegion == nil {
				return "", fastFallback, nil // e.g. non-geographic +800
			}
		}
	} else {
		national = digits
		cc = def.cc
	}
	if len(national) < 2 {
		return "", fastNotANumber, phonenumbers.ErrTooShortNSN
	}
	switch potential := npRegion.stripNationalPrefix(national); npRegion.testLength(potential) {
	case tooShort, isPossibleLocalOnly, invalidLength:
	default:
		national = potential
	}
	if len(national) < 2 {
		return "", fastNotANumber, phonenumbers.ErrTooShortNSN
	}
	if len(national) > 17 { // MAX_LENGTH_FOR_NSN
		return "", fastNotANumber, phonenumbers.ErrNumTooLong
	}
	// From here national is the national significant number exactly as
	// GetNationalSignificantNumber rebuilds it (Italian leading zeros included).

	// IsValidNumber: GetRegionCodeForNumber, then IsValidNumberForRegion.
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	valid := false
	if len(regions) == 1 {
		owner := loadRegion(regions[0])
		if owner == nil {
			return "", fastFallback, nil
		}
		valid = owner.validFor(national)
	} else {
		// getRegionCodeForNumberFromRegionList: the first region whose leading
		// digits match, or (without leading digits) for which the number is valid.
		for _, id := range regions {
			ri := loadRegion(id)
			if ri == nil {
				return "", fastFallback, nil
			}
			if ri.leading != nil {
				if ri.leading.MatchString(national) {
					valid = ri.validFor(national)
					break
				}
			} else if ri.validFor(national) {
				valid = true
				break
			}
		}
	}
	if !valid {
		return "", fastInvalid, nil
	}

	// Format(E164): "+", the country code, the national significant number.
	var out [24]byte
	b := append(out[:0], '+')
	b = strconv.AppendInt(b, int64(cc), 10)
	b = append(b, national...)
	if !isE164Bytes(b) {
		return "", fastInvalid, nil
	}
	if string(b) == raw {
		return raw, fastValid, nil
	}
	return string(b), fastValid, nil
}

func isE164Bytes(b []byte) bool {
	if len(b) < 3 || len(b) > 16 || b[0] != '+' || b[1] == '0' {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// normalize is Normalize: the fast path where it decides, reference elsewhere.
func normalize(raw, defaultRegion string) (string, error) {
	if len(raw) > MaxInputLen || !isUpperRegion(defaultRegion) || strings.TrimSpace(raw) == "" {
		return reference(raw, defaultRegion)
	}
	def := loadRegion(defaultRegion)
	if def == nil {
		return reference(raw, defaultRegion)
	}
	e164, outcome, perr := normalizeFast(raw, def)
	switch outcome {
	case fastValid:
		return e164, nil
	case fastInvalid:
		return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
	case fastNotANumber:
		return "", fmt.Errorf("%w: %q: %v", ErrNotANumber, raw, perr)
	}
	return reference(raw, defaultRegion)
}

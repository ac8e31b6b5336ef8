package phone

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// This file holds what the fast path of Normalize knows of each region: phonenumbers'
// metadata patterns compiled into digit automata (dfa.go), built once per region on
// first use and never changed after.

// maxNSN is phonenumbers' MAX_LENGTH_FOR_NSN: no national significant number is longer.
const maxNSN = 17

// validationResult mirrors phonenumbers' ValidationResult for testNumberLength.
type validationResult uint8

const (
	isPossible validationResult = iota
	isPossibleLocalOnly
	tooShort
	invalidLength
	tooLong
)

// prefixPattern is a pattern phonenumbers matches at the start of a number ("^(?:p)"):
// the national prefix for parsing, the international prefix and the leading digits.
// The automaton decides whether it matches, and where when only one prefix matches;
// re, the same pattern in package regexp, decides the rest (several candidate ends,
// capture groups for a transform rule).
type prefixPattern struct {
	d  *dfa
	re *regexp.Regexp // ^(?:pattern)
}

// regionInfo is what the fast path needs of one region's metadata, compiled once.
type regionInfo struct {
	id    string
	cc    int
	ccStr string

	// International (IDD) prefix: a literal digit string, or a pattern used exactly as
	// phonenumbers.parsePrefixAsIdd uses it (a match must start at 0).
	iddLit string
	idd    *prefixPattern

	// National prefix for parsing (maybeStripNationalPrefixAndCarrierCode).
	npLits      []string       // alternatives of a digits-only prefix with no transform rule
	np          *prefixPattern // otherwise, or nil
	npTransform string

	// valid runs the general description's pattern (bit 0) and each number type's
	// (bits 1 and up, in the order of getNumberTypeHelper) in one walk; lenMask[n]
	// has the bit of each description whose possible lengths allow n digits.
	valid   *dfa
	lenMask [maxNSN + 1]uint16

	generalLen   []int32 // possible lengths of the general desc (testNumberLength)
	localOnlyLen []int32

	leading *prefixPattern // leading digits, or nil
}

var (
	metaOnce sync.Once
	metaByID map[string]*phonenumbers.PhoneMetadata
	// ccRegions[cc] lists the regions of country calling code cc, main region first,
	// as phonenumbers.GetRegionCodesForCountryCode; nil for an unassigned code.
	ccRegions [1000][]string
	// ccSupported[cc] is phonenumbers.GetSupportedCallingCodes()[cc].
	ccSupported [1000]bool
	regionTab   [26 * 26]atomic.Pointer[regionInfo]
	// ccTab[cc] holds the compiled info of each region of ccRegions[cc], in that
	// order, built on first use; noRegions marks a code one of whose regions is not
	// compiled (or a non-geographic code), whose numbers take the reference path.
	ccTab     [1000]atomic.Pointer[[]*regionInfo]
	noRegions = &[]*regionInfo{}
	// unsupported marks a region whose patterns could not all be compiled exactly;
	// such regions always take the reference path.
	unsupported = &regionInfo{}
)

// loadTables reads, once, the metadata of every region and the regions of every
// country calling code.
func loadTables() {
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
		for cc := range phonenumbers.GetSupportedCallingCodes() {
			if cc > 0 && cc < len(ccRegions) {
				ccSupported[cc] = true
				ccRegions[cc] = phonenumbers.GetRegionCodesForCountryCode(cc)
			}
		}
	})
}

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

// loadCC returns the compiled info of the regions of country calling code cc, main
// region first, or nil when one of them is not compiled.
func loadCC(cc int) []*regionInfo {
	p := ccTab[cc].Load()
	if p == nil {
		infos := make([]*regionInfo, 0, len(ccRegions[cc]))
		for _, id := range ccRegions[cc] {
			ri := loadRegion(id)
			if ri == nil {
				infos = nil
				break
			}
			infos = append(infos, ri)
		}
		p = noRegions
		if len(infos) > 0 {
			p = &infos
		}
		ccTab[cc].Store(p) // any goroutine builds the same list
	}
	if p == noRegions {
		return nil
	}
	return *p
}

// buildRegion compiles the metadata of region id, or returns nil when some pattern
// cannot be compiled exactly.
func buildRegion(id string) *regionInfo {
	loadTables()
	m := metaByID[id]
	if m == nil || !phonenumbers.GetSupportedRegions()[id] || m.GetGeneralDesc() == nil {
		return nil
	}
	ri := &regionInfo{id: id, cc: int(m.GetCountryCode())}
	ri.ccStr = strconv.Itoa(ri.cc)
	ri.generalLen = m.GetGeneralDesc().GetPossibleLength()
	ri.localOnlyLen = m.GetGeneralDesc().GetPossibleLengthLocalOnly()
	if len(ri.generalLen) == 0 {
		return nil // testNumberLength would index an empty slice
	}
	var err error
	if idd := m.GetInternationalPrefix(); idd != "" && allDigits(idd) {
		ri.iddLit = idd
	} else if ri.idd, err = compilePrefix(idd, false); err != nil {
		return nil
	}
	if np := m.GetNationalPrefixForParsing(); np != "" {
		ri.npTransform = m.GetNationalPrefixTransformRule()
		if lits := strings.Split(np, "|"); ri.npTransform == "" && allLiterals(lits) {
			// "0" or "0|180020": the regexp takes the first alternative that is a
			// prefix (leftmost-first), as the loop in stripNationalPrefix does.
			ri.npLits = lits
		} else if ri.np, err = compilePrefix(np, ri.npTransform != ""); err != nil {
			return nil
		}
	}
	if ld := m.GetLeadingDigits(); ld != "" {
		if ri.leading, err = compilePrefix(ld, false); err != nil {
			return nil
		}
	}
	if !ri.compileValidity(m) {
		return nil
	}
	return ri
}

// compilePrefix compiles a pattern matched at the start of a number. With trackLast,
// the automaton also tells whether a match can go through the pattern's last capture
// group, the one whose taking part decides whether a transform rule applies.
func compilePrefix(pattern string, trackLast bool) (*prefixPattern, error) {
	re, err := regexp.Compile("^(?:" + pattern + ")")
	if err != nil {
		return nil, err
	}
	g := -1
	if trackLast {
		g = re.NumSubexp()
	}
	d, err := compileTagged(g, pattern)
	if err != nil {
		return nil, err
	}
	return &prefixPattern{d: d, re: re}, nil
}

// compileValidity builds ri.valid and ri.lenMask from the general description and the
// number types getNumberTypeHelper tries after it, and reports whether it could.
func (ri *regionInfo) compileValidity(m *phonenumbers.PhoneMetadata) bool {
	descs := []*phonenumbers.PhoneNumberDesc{m.GetGeneralDesc(), m.GetFixedLine()}
	if !m.GetSameMobileAndFixedLinePattern() {
		descs = append(descs, m.GetMobile())
	}
	descs = append(descs, m.GetTollFree(), m.GetPremiumRate(), m.GetSharedCost(), m.GetVoip(),
		m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail())
	patterns := make([]string, len(descs))
	for k, d := range descs {
		if d == nil {
			return false
		}
		patterns[k] = d.GetNationalNumberPattern()
		// isNumberPossibleForDesc: no possible lengths means any length.
		for n := range ri.lenMask {
			if lengths := d.GetPossibleLength(); len(lengths) == 0 || containsLen(lengths, n) {
				ri.lenMask[n] |= 1 << k
			}
		}
	}
	var err error
	ri.valid, err = compileDFA(patterns...)
	return err == nil
}

func containsLen(lengths []int32, n int) bool {
	for _, l := range lengths {
		if int(l) == n {
			return true
		}
	}
	return false
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

// general reports whether number matches the general description's pattern, as
// phonenumbers' "^(?:pattern)$" regexp does (possible lengths are not checked).
func (ri *regionInfo) general(number []byte) bool { return ri.valid.full(number)&1 != 0 }

// validFor mirrors phonenumbers.getNumberTypeHelper(nsn, metadata) != UNKNOWN: the
// general description and at least one number type match, patterns and possible
// lengths both.
func (ri *regionInfo) validFor(nsn []byte) bool {
	if len(nsn) >= len(ri.lenMask) {
		return false
	}
	m := ri.valid.full(nsn) & ri.lenMask[len(nsn)]
	return m&1 != 0 && m&^1 != 0
}

// testLength mirrors phonenumbers.testNumberLength(number, metadata, UNKNOWN) for a
// number of n digits.
func (ri *regionInfo) testLength(n int) validationResult {
	pl := ri.generalLen
	if pl[0] == -1 {
		return invalidLength
	}
	if containsLen(ri.localOnlyLen, n) {
		return isPossibleLocalOnly
	}
	switch {
	case int(pl[0]) == n:
		return isPossible
	case int(pl[0]) > n:
		return tooShort
	case int(pl[len(pl)-1]) < n:
		return tooLong
	}
	if containsLen(pl[1:], n) {
		return isPossible
	}
	return invalidLength
}

// stripNationalPrefix mirrors phonenumbers.maybeStripNationalPrefixAndCarrierCode and
// returns the number it leaves: number itself when nothing is stripped, a part of it,
// or (under a transform rule) a rewritten number appended to scratch.
func (ri *regionInfo) stripNationalPrefix(number, scratch []byte) []byte {
	if len(number) == 0 {
		return number
	}
	if ri.npLits != nil {
		for _, lit := range ri.npLits {
			if len(number) >= len(lit) && string(number[:len(lit)]) == lit {
				return ri.keepViable(number, number[len(lit):])
			}
		}
		return number
	}
	if ri.np == nil {
		return number
	}
	// With one candidate end, regexp's match ends there; without a transform rule,
	// or when no match goes through the rule's group, the prefix is simply cut.
	switch count, end := ri.np.d.prefixEnds(number); {
	case count == 0:
		return number
	case count == 1 && (ri.npTransform == "" || !ri.np.d.anyTagged(number)):
		return ri.keepViable(number, number[end:])
	}
	return ri.stripNationalPrefixRegexp(number, scratch)
}

// stripNationalPrefixRegexp is stripNationalPrefix where only the regexp can tell
// which prefix matches, or what its capture groups hold for the transform rule.
func (ri *regionInfo) stripNationalPrefixRegexp(number, scratch []byte) []byte {
	s := string(number) // a copy: number may live on the caller's stack
	groups := ri.np.re.FindStringSubmatchIndex(s)
	if groups == nil { // cannot happen: the automaton found a match
		return number
	}
	numOfGroups := len(groups)/2 - 1
	if ri.npTransform == "" || groups[numOfGroups*2] < 0 {
		return ri.keepViable(number, number[groups[1]:])
	}
	// ReplaceAllString of a pattern anchored at the start: the expanded rule, then the
	// rest of the number.
	transformed := ri.np.re.ExpandString(scratch, ri.npTransform, s, groups)
	transformed = append(transformed, s[groups[1]:]...)
	return ri.keepViable(number, transformed)
}

// keepViable returns stripped, unless number matched the general pattern and stripped
// does not: then stripping would make a valid number invalid, and number is kept.
func (ri *regionInfo) keepViable(number, stripped []byte) []byte {
	if ri.general(number) && !ri.general(stripped) {
		return number
	}
	return stripped
}

// matchIDD mirrors phonenumbers.parsePrefixAsIdd on an all-digit number: it reports
// whether the IDD prefix is stripped, and where the rest starts.
func (ri *regionInfo) matchIDD(digits []byte) (end int, ok bool) {
	if ri.idd == nil {
		if len(digits) < len(ri.iddLit) || string(digits[:len(ri.iddLit)]) != ri.iddLit {
			return 0, false
		}
		end = len(ri.iddLit)
	} else {
		count, e := ri.idd.d.prefixEnds(digits)
		switch count {
		case 0:
			return 0, false
		case 1:
			end = e
		default:
			end = ri.idd.re.FindStringIndex(string(digits))[1]
		}
	}
	// Country calling codes do not start with 0: then it was not an IDD.
	if end < len(digits) && digits[end] == '0' {
		return 0, false
	}
	return end, true
}

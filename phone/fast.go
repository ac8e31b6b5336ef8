package phone

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// This file holds the fast path of Normalize: a re-statement of phonenumbers.Parse,
// IsValidNumber and Format(E164) for the inputs where Parse's many steps collapse to a
// few, deciding phonenumbers' own metadata patterns with the digit automata of
// region.go and dfa.go.
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
//
// The steps are the functions below, in order: scanDigits, countryCode,
// nationalNumber, validity and appendE164. Digits travel between them as byte slices
// of buffers on normalizeFast's stack, so the valid path allocates nothing but the
// result string (and not even that when the input is already the result, or when
// AppendNormalized writes it into the caller's buffer).

// fastOutcome is what the fast path decided.
type fastOutcome uint8

const (
	fastFallback   fastOutcome = iota // not decided: use reference
	fastValid                         // valid; the E.164 string is returned
	fastInvalid                       // parsed but not valid: ErrInvalid
	fastNotANumber                    // Parse would fail: ErrNotANumber wrapping perr
	fastPending                       // between steps: not decided yet, go on
)

// digitBuf holds the digits of one input (at most MaxInputLen), or a national number a
// transform rule rewrote (a few digits more than the input's).
type digitBuf [MaxInputLen + 16]byte

// normalizeFast decides raw under the default region def, or returns fastFallback. On
// fastValid it returns dst with the E.164 form appended; on fastNotANumber the
// phonenumbers error Parse would have returned.
func normalizeFast(dst []byte, raw string, def *regionInfo) ([]byte, fastOutcome, error) {
	var digitsBuf, ccBuf, nsnBuf digitBuf
	digits, plus, outcome, err := scanDigits(raw, digitsBuf[:0])
	if outcome != fastPending {
		return dst, outcome, err
	}
	cc, national, err := countryCode(digits, plus, def, ccBuf[:0])
	if err != nil {
		return dst, fastNotANumber, err
	}
	cc, nsn, outcome, err := nationalNumber(cc, national, digits, def, nsnBuf[:0])
	if outcome != fastPending {
		return dst, outcome, err
	}
	if outcome = validity(cc, nsn); outcome != fastValid {
		return dst, outcome, nil
	}
	return appendE164(dst, cc, nsn)
}

// scanDigits is the first step: for the shapes the fast path decides,
// extractPossibleNumber, maybeStripExtension, buildNationalNumberForParsing and
// normalize reduce to "skip the leading junk, drop the extension, keep the digits".
// It appends the digits to buf, says whether the number starts with '+', and returns
// fastPending when the next step is to run.
func scanDigits(raw string, buf []byte) (digits []byte, plus bool, outcome fastOutcome, err error) {
	start, ok := skipLeadingJunk(raw)
	if !ok {
		return nil, false, fastFallback, nil
	}
	if start == len(raw) {
		return nil, false, fastNotANumber, phonenumbers.ErrNotANumber
	}
	// The number: digits and the punctuation marks below only, up to an optional
	// extension.
	end, ext, slash := len(raw), false, false
scan:
	for i := start; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			buf = append(buf, c)
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		case c == '/':
			slash = true
		case c == '+':
			if i != start {
				return nil, false, fastFallback, nil
			}
		default:
			// Only a plain extension may follow; '/' could start a second number
			// (SECOND_NUMBER_START) before it.
			e, ok := extensionStart(raw, start, i)
			if !ok || slash {
				return nil, false, fastFallback, nil
			}
			end, ext = e, true
			break scan
		}
	}
	// isViablePhoneNumber on the extracted number raw[start:] (trailing punctuation
	// is kept by phonenumbers' Go port): two bare digits, or at least three digits.
	// With an extension, both the whole and the part before it are viable when that
	// part has three digits; with fewer, which labels count depends on the regexp.
	if nd := len(buf); ext {
		if nd < 3 {
			return nil, false, fastFallback, nil
		}
	} else if nd < 2 || (nd == 2 && end-start != 2) {
		return nil, false, fastNotANumber, phonenumbers.ErrNotANumber
	}
	return buf, raw[start] == '+', fastPending, nil
}

// skipLeadingJunk returns where the number in raw starts. extractPossibleNumber drops
// everything before the first '+' or digit; ASCII junk without ';' (which could start
// an RFC 3966 parameter such as ";phone-context=") is dropped the same way: "tel:",
// "Tel: ", "(". Other junk is not decided here (ok is false).
func skipLeadingJunk(raw string) (start int, ok bool) {
	for ; start < len(raw); start++ {
		c := raw[start]
		if c == '+' || (c >= '0' && c <= '9') {
			break
		}
		if c >= utf8.RuneSelf || c == ';' {
			return 0, false
		}
	}
	return start, true
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

// countryCode is the second step: phonenumbers.maybeExtractCountryCode, with
// parseHelper's retry without the '+'. It returns the country calling code found in
// the number (0 when there is none) and the national number after it; a national
// prefix stripped on the way is rewritten into scratch when a transform rule applies.
func countryCode(digits []byte, plus bool, def *regionInfo, scratch []byte) (int, []byte, error) {
	if !plus {
		return extractWithoutPlus(digits, def, scratch)
	}
	cc, national, err := fromInternational(digits)
	if err == phonenumbers.ErrInvalidCountryCode {
		cc, national, err = extractWithoutPlus(digits, def, scratch)
		if err == nil && cc == 0 {
			err = phonenumbers.ErrInvalidCountryCode
		}
	}
	return cc, national, err
}

// extractCountryCode mirrors phonenumbers.extractCountryCode.
func extractCountryCode(full []byte) (cc int, national []byte) {
	if len(full) == 0 || full[0] == '0' {
		return 0, nil
	}
	v := 0
	for i := 1; i <= 3 && i <= len(full); i++ {
		v = v*10 + int(full[i-1]-'0')
		if ccSupported[v] {
			return v, full[i:]
		}
	}
	return 0, nil
}

// fromInternational is the part of phonenumbers.maybeExtractCountryCode that follows
// a stripped '+' or IDD prefix.
func fromInternational(full []byte) (int, []byte, error) {
	if len(full) <= 2 { // MIN_LENGTH_FOR_NSN
		return 0, nil, phonenumbers.ErrTooShortAfterIDD
	}
	cc, national := extractCountryCode(full)
	if cc == 0 {
		return 0, nil, phonenumbers.ErrInvalidCountryCode
	}
	return cc, national, nil
}

// extractWithoutPlus mirrors phonenumbers.maybeExtractCountryCode for a number that
// does not start with '+', given its digits.
func extractWithoutPlus(digits []byte, def *regionInfo, scratch []byte) (int, []byte, error) {
	if end, ok := def.matchIDD(digits); ok {
		return fromInternational(digits[end:])
	}
	if bytes.HasPrefix(digits, []byte(def.ccStr)) {
		potential := def.stripNationalPrefix(digits[len(def.ccStr):], scratch)
		fullValid := def.general(digits)
		nationalValid := def.general(potential)
		if (!fullValid && nationalValid) || def.testLength(len(digits)) == tooLong {
			return def.cc, potential, nil
		}
	}
	return 0, nil, nil
}

// nationalNumber is the third step: the national prefix is stripped with the metadata
// of the default region, or of the main region of the country code found in the
// number (maybeStripNationalPrefixAndCarrierCode), and the lengths checked. It
// returns the country code and the national significant number exactly as
// GetNationalSignificantNumber rebuilds it (Italian leading zeros included).
func nationalNumber(cc int, national, digits []byte, def *regionInfo, scratch []byte) (int, []byte, fastOutcome, error) {
	npRegion := def
	if cc != 0 {
		if main := ccRegions[cc][0]; main != def.id {
			if npRegion = loadRegion(main); npRegion == nil {
				return 0, nil, fastFallback, nil // e.g. non-geographic +800
			}
		}
	} else {
		national, cc = digits, def.cc
	}
	if len(national) < 2 {
		return 0, nil, fastNotANumber, phonenumbers.ErrTooShortNSN
	}
	switch potential := npRegion.stripNationalPrefix(national, scratch); npRegion.testLength(len(potential)) {
	case tooShort, isPossibleLocalOnly, invalidLength:
	default:
		national = potential
	}
	if len(national) < 2 {
		return 0, nil, fastNotANumber, phonenumbers.ErrTooShortNSN
	}
	if len(national) > maxNSN {
		return 0, nil, fastNotANumber, phonenumbers.ErrNumTooLong
	}
	return cc, national, fastPending, nil
}

// validity is the fourth step: IsValidNumber, that is GetRegionCodeForNumber, then
// IsValidNumberForRegion. It returns fastValid, fastInvalid or fastFallback.
func validity(cc int, nsn []byte) fastOutcome {
	regions := loadCC(cc)
	switch len(regions) {
	case 0:
		return fastFallback
	case 1:
		return validOutcome(regions[0].validFor(nsn))
	}
	// getRegionCodeForNumberFromRegionList: the first region whose leading digits
	// match, or (without leading digits) for which the number is valid.
	for _, ri := range regions {
		if ri.leading != nil {
			if ri.leading.d.prefix(nsn) {
				return validOutcome(ri.validFor(nsn))
			}
		} else if ri.validFor(nsn) {
			return fastValid
		}
	}
	return fastInvalid
}

func validOutcome(valid bool) fastOutcome {
	if valid {
		return fastValid
	}
	return fastInvalid
}

// appendE164 is the last step: Format(E164), "+", the country code and the national
// significant number, appended to dst.
func appendE164(dst []byte, cc int, nsn []byte) ([]byte, fastOutcome, error) {
	n := len(dst)
	b := append(dst, '+')
	b = strconv.AppendInt(b, int64(cc), 10)
	b = append(b, nsn...)
	if !isE164(b[n:]) {
		return dst, fastInvalid, nil
	}
	return b, fastValid, nil
}

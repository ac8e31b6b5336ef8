// Package phone normalizes phone numbers to E.164 ("+14155552671") on top of
// github.com/nyaruka/phonenumbers, so that every format of one number maps to one
// string before it is stored or looked up.
//
// It is pure: no I/O, and safe for concurrent use. Its only state beyond the metadata
// phonenumbers holds is a table of that metadata's patterns compiled into digit
// automata for the fast path of Normalize: one entry per region (its largest
// automaton, BD's, takes about 12 KB), built on first use (all 245 regions in about a
// tenth of a second), bounded by the regions phonenumbers knows and never changed once
// built.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInputLen is the longest input, in bytes, that Normalize accepts. It is far above
// any real formatted number (an E.164 number has at most 16 bytes; a formatted one with
// an extension rarely 40) and below phonenumbers' own 250-byte cap.
const MaxInputLen = 128

// Errors returned by Normalize, tested with errors.Is.
var (
	// ErrEmpty: the input is empty or only white space.
	ErrEmpty = errors.New("phone: empty number")
	// ErrTooLong: the input is longer than MaxInputLen bytes.
	ErrTooLong = fmt.Errorf("phone: input longer than %d bytes", MaxInputLen)
	// ErrNotANumber: phonenumbers cannot read the input as a phone number at all.
	ErrNotANumber = errors.New("phone: not a phone number")
	// ErrInvalid: the input reads as a number, but not one that is valid for any
	// region (wrong length, unassigned range, short code such as 911).
	ErrInvalid = errors.New("phone: not a valid phone number")
	// ErrUnknownRegion: the default region is not an ISO 3166-1 alpha-2 code that
	// phonenumbers has metadata for.
	ErrUnknownRegion = errors.New("phone: unknown region")
)

// Region returns the canonical (upper-case) form of an ISO 3166-1 alpha-2 region code,
// or ErrUnknownRegion if phonenumbers has no metadata for it. Input is case-insensitive.
func Region(code string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(code))
	if !phonenumbers.GetSupportedRegions()[up] {
		return "", fmt.Errorf("%w: %q", ErrUnknownRegion, code)
	}
	return up, nil
}

// Warm loads the phonenumbers metadata of each region by parsing its example number,
// and compiles the patterns the fast path of Normalize uses for it, so that the first
// real number of a region does not pay the one-time load (about a millisecond). It
// returns ErrUnknownRegion for a region phonenumbers does not know.
func Warm(regions ...string) error {
	for _, r := range regions {
		rc, err := Region(r)
		if err != nil {
			return err
		}
		loadRegion(rc)
		if ex := phonenumbers.GetExampleNumber(rc); ex != nil {
			_, _ = Normalize(phonenumbers.Format(ex, phonenumbers.NATIONAL), rc)
		}
	}
	return nil
}

// Normalize returns the E.164 form of raw, reading numbers written without a country
// code in the national format of defaultRegion (an ISO 3166-1 alpha-2 code, any case).
//
// It accepts what people and systems write: spaces, dots, dashes and parentheses,
// a leading "+", international dialling prefixes ("011 44 20 7946 0958" under US),
// "tel:" URIs, extensions (dropped: "ext. 9" does not change the number), vanity
// letters ("1-800-FLOWERS") and non-ASCII digits that phonenumbers maps to ASCII.
//
// The number must be valid (phonenumbers.IsValidNumber), not merely possible:
// "555-0100" and "911" are rejected. On failure it returns "" and an error that wraps
// one of ErrEmpty, ErrTooLong, ErrNotANumber, ErrInvalid or ErrUnknownRegion.
//
// Its result is always exactly that of phonenumbers' Parse, IsValidNumber and
// Format(E164) (the unexported reference), but most inputs do not pay for them. Under
// a default region in upper case, inputs made of ASCII digits, spaces, dots, dashes,
// parentheses and slashes, with at most one leading '+', optional leading ASCII junk
// ("tel:") and an optional "ext"/"extn"/"extension"/"x" extension, take a fast path
// that decides phonenumbers' own metadata patterns with automata compiled from them
// (one walk over the digits, no backtracking): E.164 ("+14155552671"),
// national formats ("(415) 555-2671", "415.555.2671", "1-415-555-2671",
// "020 7946 0958"), national prefixes ("+44 (0) 20 7946 0958"), IDD prefixes
// ("011 44 20 7946 0958") and extensions ("+1 212-555-1234 ext. 9"). Everything else
// falls back to the reference path: other letters (vanity numbers), other punctuation
// or white space, non-ASCII digits, a second '+', RFC 3966 parameters, a region not in
// upper case, and non-geographic country codes (+800...). The fast path allocates
// only the result, and nothing when raw is already in E.164.
func Normalize(raw, defaultRegion string) (string, error) {
	return normalize(raw, defaultRegion)
}

// reference is the normalization defined by phonenumbers itself: Parse, then
// IsValidNumber, then Format(E164). Any faster path must agree with it exactly.
func reference(raw, defaultRegion string) (string, error) {
	if len(raw) > MaxInputLen {
		return "", fmt.Errorf("%w: got %d", ErrTooLong, len(raw))
	}
	if strings.TrimSpace(raw) == "" {
		return "", ErrEmpty
	}
	region := defaultRegion
	if !isUpperRegion(region) {
		var err error
		if region, err = Region(defaultRegion); err != nil {
			return "", err
		}
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrNotANumber, raw, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if !IsE164(e164) {
		// phonenumbers passes some non-ASCII digits through; never hand such a string
		// to storage.
		return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
	}
	return e164, nil
}

// isUpperRegion reports whether r is already a canonical supported region code, the
// common case, without allocating.
func isUpperRegion(r string) bool {
	return len(r) == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z' &&
		phonenumbers.GetSupportedRegions()[r]
}

// isE164 is IsE164 for a string or its bytes.
func isE164[T string | []byte](s T) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsE164 reports whether s is already in the E.164 form that Normalize returns:
// "+" and 2 to 15 ASCII digits, the first not 0. It does not check validity.
func IsE164(s string) bool { return isE164(s) }

// AppendNormalized appends the E.164 form of raw, as Normalize returns it, to dst and
// returns the extended slice. On failure it returns dst unchanged and the error
// Normalize returns. It lets a caller normalizing many numbers keep them all in one
// buffer, at no allocation per number on the fast path.
func AppendNormalized(dst []byte, raw, defaultRegion string) ([]byte, error) {
	return appendNormalized(dst, raw, defaultRegion)
}

// normalize is Normalize: appendNormalized into a buffer on the stack, then raw itself
// when it is already the result, so that E.164 input costs no allocation.
func normalize(raw, defaultRegion string) (string, error) {
	var out [24]byte
	b, err := appendNormalized(out[:0], raw, defaultRegion)
	if err != nil {
		return "", err
	}
	if string(b) == raw {
		return raw, nil
	}
	return string(b), nil
}

// appendNormalized is AppendNormalized: the fast path where it decides, reference
// elsewhere.
func appendNormalized(dst []byte, raw, defaultRegion string) ([]byte, error) {
	if len(raw) > MaxInputLen || strings.TrimSpace(raw) == "" {
		return appendReference(dst, raw, defaultRegion)
	}
	// nil for a code not in upper case, unknown, or not compiled.
	def := loadRegion(defaultRegion)
	if def == nil {
		return appendReference(dst, raw, defaultRegion)
	}
	b, outcome, perr := normalizeFast(dst, raw, def)
	switch outcome {
	case fastValid:
		return b, nil
	case fastInvalid:
		return dst, fmt.Errorf("%w: %q", ErrInvalid, raw)
	case fastNotANumber:
		return dst, fmt.Errorf("%w: %q: %v", ErrNotANumber, raw, perr)
	}
	return appendReference(dst, raw, defaultRegion)
}

// appendReference appends the result of reference to dst.
func appendReference(dst []byte, raw, defaultRegion string) ([]byte, error) {
	e164, err := reference(raw, defaultRegion)
	if err != nil {
		return dst, err
	}
	return append(dst, e164...), nil
}

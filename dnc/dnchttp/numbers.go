package dnchttp

import (
	"strings"
	"unicode"
)

// International returns raw as the hosted API reads a phone number: it includes its
// country code, and the "+" is optional. So International adds the "+" that raw lacks,
// and leaves the rest to the library's normalization:
//
//   - white space around raw is dropped;
//   - a "tel:" URI (scheme in any case) is read after its scheme: "tel:12125551234"
//     becomes "tel:+12125551234";
//   - if the first character that is a "+" (or a full-width "＋") or a digit (any
//     script) is a digit, a "+" goes in front of it, after any leading formatting:
//     "12125551234" becomes "+12125551234", "(1) 212 555 1234" becomes
//     "(+1) 212 555 1234";
//   - otherwise raw is returned as it is (it has its "+", or no digit at all).
//
// An international dialling prefix is not a country code: "011 44 20 7946 0958" becomes
// "+011 …", which is invalid, as in the hosted product.
func International(raw string) string {
	s := strings.TrimSpace(raw)
	scheme := ""
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		scheme, s = s[:4], s[4:]
	}
	for i, r := range s {
		switch {
		case r == '+' || r == '＋':
			return scheme + s
		case unicode.IsDigit(r):
			return scheme + s[:i] + "+" + s[i:]
		}
	}
	return scheme + s
}

// Package clip bounds how much of an input an error text repeats, so that a megabyte
// of junk sent as a phone number or a query parameter is not echoed back in a message.
package clip

import "strconv"

// MaxQuoted is the most characters (runes) of an input that Quote repeats.
const MaxQuoted = 64

// Quote returns s quoted as strconv.Quote does (%q). A string longer than MaxQuoted
// characters is cut to its first MaxQuoted, quoted, and followed by its whole length:
// a 1 MB string of "9"s becomes "999…9" (64 nines) followed by ... (1048576 bytes).
// Each invalid UTF-8 byte counts as one character.
func Quote(s string) string {
	if p, cut := prefix(s); cut {
		return strconv.Quote(p) + "... (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

// Cut returns s if it has at most MaxQuoted characters, else its first MaxQuoted
// characters followed by "...".
func Cut(s string) string {
	if p, cut := prefix(s); cut {
		return p + "..."
	}
	return s
}

// prefix returns the first MaxQuoted characters of s, and whether that is less than s.
func prefix(s string) (string, bool) {
	if len(s) <= MaxQuoted { // at most MaxQuoted bytes: at most MaxQuoted runes
		return s, false
	}
	n := 0
	for i := range s { // i steps over runes
		if n == MaxQuoted {
			return s[:i], true
		}
		n++
	}
	return s, false
}

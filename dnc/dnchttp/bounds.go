package dnchttp

import (
	"fmt"
	"unicode/utf8"
)

// checkText returns a 400 naming field if s holds a character that stored metadata
// must not: a C0 or C1 control character or DEL (they rewrite terminals and forge log
// and CSV lines), or a bidirectional formatting character (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069; they reorder the text a person reads). The
// message names the first such character by code point and byte offset, never the text.
func checkText(field, s string) error {
	for i, r := range s {
		if r == utf8.RuneError || !forbidden(r) {
			continue // invalid UTF-8 never gets here: the JSON decoding rejects it
		}
		return badRequest(fmt.Sprintf("%s holds the control character %U at byte %d: control and bidirectional formatting characters are not allowed", field, r, i))
	}
	return nil
}

func forbidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

package clip_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/internal/clip"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("9", 1<<20)
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", `""`},
		{"short", "+1 212 555", `"+1 212 555"`},
		{"64 ASCII", strings.Repeat("a", 64), strconv.Quote(strings.Repeat("a", 64))},
		{"65 ASCII", strings.Repeat("a", 65), strconv.Quote(strings.Repeat("a", 64)) + "... (65 bytes)"},
		{"1 MB", long, strconv.Quote(long[:64]) + "... (1048576 bytes)"},
		{"64 runes of 3 bytes", strings.Repeat("９", 64), strconv.Quote(strings.Repeat("９", 64))},
		{"65 runes of 3 bytes", strings.Repeat("９", 65), strconv.Quote(strings.Repeat("９", 64)) + "... (195 bytes)"},
		{"invalid UTF-8", strings.Repeat("\xff", 70), strconv.Quote(strings.Repeat("\xff", 64)) + "... (70 bytes)"},
		{"control characters", "\x00\x1b[2J", `"\x00\x1b[2J"`},
	} {
		if got := clip.Quote(tc.in); got != tc.want {
			t.Errorf("%s: Quote = %.200s; want %.200s", tc.name, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"short", "+1 212 555", "+1 212 555"},
		{"64 runes", strings.Repeat("９", 64), strings.Repeat("９", 64)},
		{"65 runes", strings.Repeat("９", 65), strings.Repeat("９", 64) + "..."},
		{"1 MB", strings.Repeat("<", 1<<20), strings.Repeat("<", 64) + "..."},
	} {
		if got := clip.Cut(tc.in); got != tc.want {
			t.Errorf("%s: Cut = %.200s; want %.200s", tc.name, got, tc.want)
		}
	}
}

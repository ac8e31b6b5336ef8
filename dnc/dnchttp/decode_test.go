package dnchttp

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeStringsMatchesEncodingJSON checks the one-pass array reader against
// encoding/json on valid arrays of valid strings: white space in every place, escapes
// of every kind (surrogate pairs included), empty strings and non-ASCII text.
func TestDecodeStringsMatchesEncodingJSON(t *testing.T) {
	pieces := []string{"", "12125551234", "+1 (212) 555-1234", `\"`, `\\`, `\/`, `\n`, `\t`,
		`\u0031`, `\ud83d\ude00`, "ünï", "０１２", `a\\\"`, "tel:+1-212", " ", "\\u00e9"}
	spaces := []string{"", " ", "\n\t ", "\r\n"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 3000; n++ {
		var b strings.Builder
		b.WriteString("[" + spaces[rng.IntN(len(spaces))])
		for k, count := 0, rng.IntN(6); k < count; k++ {
			if k > 0 {
				b.WriteString(spaces[rng.IntN(len(spaces))] + "," + spaces[rng.IntN(len(spaces))])
			}
			b.WriteString(`"`)
			for p := rng.IntN(4); p > 0; p-- {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			b.WriteString(`"`)
		}
		b.WriteString(spaces[rng.IntN(len(spaces))] + "]")
		raw := json.RawMessage(b.String())
		var want []string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("test input %s: %v", raw, err)
		}
		got, err := decodeStrings("phoneNumbers", raw)
		if err != nil || !reflect.DeepEqual(got, append([]string{}, want...)) {
			t.Errorf("decodeStrings(%s) = %q, %v; encoding/json %q", raw, got, err, want)
		}
	}
}

// TestDecodeStringsErrors checks that the first offending element, in order, is named.
func TestDecodeStringsErrors(t *testing.T) {
	for _, tc := range []struct{ raw, msg string }{
		{`["1", {"a": "b"}, 2]`, "phoneNumbers[1] must be a JSON string, got an object"},
		{`[ "1" , [] ]`, "phoneNumbers[1] must be a JSON string, got an array"},
		{`[true]`, "phoneNumbers[0] must be a JSON string, got a boolean"},
		{"[\"\xff\", 1]", "phoneNumbers[0] is not valid UTF-8"},
		{"[\"\\u0031\xff\"]", "phoneNumbers[0] is not valid UTF-8"},
		{`["\ud800", "\udfff"]`, `phoneNumbers[0] holds an unpaired UTF-16 surrogate escape (\ud800)`},
	} {
		_, err := decodeStrings("phoneNumbers", json.RawMessage(tc.raw))
		var re *requestError
		if !errors.As(err, &re) || re.code != 400 || re.msg != tc.msg {
			t.Errorf("decodeStrings(%s) = %v; want %q", tc.raw, err, tc.msg)
		}
	}
}

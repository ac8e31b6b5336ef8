package dnchttp

import (
	"encoding/json"
	"errors"
	"fmt"
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

// TestCheckDataJSONMatchesEncodingJSON checks that the check results write the same
// bytes as encoding/json, inside the envelope too, on inputs with quotes, backslashes,
// control characters, HTML characters, non-ASCII text and U+2028.
func TestCheckDataJSONMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "12125551234", "+1 (212) 555-1234", `a"b`, `a\b`, "a\tb", "<script>&",
		"ünï", "０１２", "\u2028", "x\u2029y", "\x7f", "tel:+1-212-555-1234"}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 500; n++ {
		var d checkData
		for k := rng.IntN(5); k > 0; k-- {
			d.Results = append(d.Results, checkResult{Input: inputs[rng.IntN(len(inputs))],
				PhoneNumber: inputs[rng.IntN(len(inputs))], Skip: rng.IntN(2) == 0, Reason: inputs[rng.IntN(len(inputs))]})
		}
		if n%50 == 0 {
			d.Results = nil
		}
		env := envelope{Message: "DNC check completed successfully", Status: true, Code: 200, Data: d}
		want, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := marshalEnvelope(env); err != nil || string(got) != string(want) {
			t.Errorf("marshalEnvelope = %s, %v;\nencoding/json %s", got, err, want)
		}
	}
}

// TestDecodeValidObjectMatchesStream checks that the direct walk of a valid object
// gives what json.Decoder gives, value for value and error for error: duplicated
// keys (escaped ones too), unknown keys with nested values holding brackets and
// quotes, missing required keys, wrong types, and white space everywhere.
func TestDecodeValidObjectMatchesStream(t *testing.T) {
	keys := []string{`"phoneNumbers"`, `"region"`, `"phonenumbers"`, `"x"`, `"\u0070honeNumbers"`, `"ü"`, `""`}
	values := []string{`["12125551234", "(415) 555-2671"]`, `[]`, `["a\"b", "ü"]`, `"US"`, `"G\u0042"`, `null`,
		`1.5e3`, `true`, `{"a": "}]", "b": [1, {"c": "\\"}]}`, `[["x"]]`, `[1]`, `"\ud800"`, `-0`}
	spaces := []string{"", " ", "\n\t"}
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 5000; n++ {
		var b strings.Builder
		b.WriteString(spaces[rng.IntN(3)] + "{" + spaces[rng.IntN(3)])
		for k, count := 0, rng.IntN(4); k < count; k++ {
			if k > 0 {
				b.WriteString("," + spaces[rng.IntN(3)])
			}
			b.WriteString(keys[rng.IntN(len(keys))] + spaces[rng.IntN(3)] + ":" + spaces[rng.IntN(3)] + values[rng.IntN(len(values))] + spaces[rng.IntN(3)])
		}
		b.WriteString("}" + spaces[rng.IntN(3)])
		body := []byte(b.String())
		if !json.Valid(body) {
			t.Fatalf("test body %s is not valid JSON", body)
		}
		var n1, n2 []string
		var r1, r2 string
		err1 := decodeValidObject(body, []field{stringsField("phoneNumbers", true, &n1), stringField("region", false, &r1)})
		err2 := decodeObjectStream(body, stringsField("phoneNumbers", true, &n2), stringField("region", false, &r2))
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(n1, n2) || r1 != r2 {
			t.Errorf("body %s:\nwalk   %q %q %v\nstream %q %q %v", body, n1, r1, err1, n2, r2, err2)
		}
	}
}

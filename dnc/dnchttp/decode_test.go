package dnchttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/clip"
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

// TestPlainStrings checks which arrays the one-pass reader of phoneNumbers takes on
// itself, and where it says they end.
func TestPlainStrings(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string // nil: left to the usual path
	}{
		{`[]`, []string{}},
		{"[ \n]", []string{}},
		{`["a"]`, []string{"a"}},
		{"[ \"(212) 555-1234\" ,\t\"+1 212\"\r\n]", []string{"(212) 555-1234", "+1 212"}},
		{"[\"\x7f\", \"\"]", []string{"\x7f", ""}},
		{`["a",]`, nil},
		{`["a" "b"]`, nil},
		{`["a"`, nil},
		{`["a`, nil},
		{`[`, nil},
		{`["a\"b"]`, nil},
		{`["a\u0031"]`, nil},
		{`["ü"]`, nil},
		{"[\"\xff\"]", nil},
		{"[\"a\tb\"]", nil},
		{`["a", 1]`, nil},
		{`[null]`, nil},
		{`"a"`, nil},
	} {
		for _, after := range []string{"", "}", ` , "region": "US"}`} {
			body := []byte(tc.raw + after)
			got, end := plainStrings(body, 0)
			switch {
			case tc.want == nil && end != -1:
				t.Errorf("plainStrings(%q) = %q, %d; want -1", body, got, end)
			case tc.want != nil && (end != len(tc.raw) || !reflect.DeepEqual(got, tc.want)):
				t.Errorf("plainStrings(%q) = %q, %d; want %q, %d", body, got, end, tc.want, len(tc.raw))
			}
		}
	}
}

// TestCheckDataJSONMatchesEncodingJSON checks that the check results write the same
// bytes as encoding/json writes for the same results, inside the envelope too, on
// inputs with quotes, backslashes, control characters, HTML characters, non-ASCII
// text, U+2028, DEL and more than 64 characters, with a rule or without one (its key
// then left out, as omitempty leaves it out).
func TestCheckDataJSONMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "12125551234", "+1 (212) 555-1234", `a"b`, `a\b`, "a\tb", "<script>&",
		"ünï", "０１２", "\u2028", "x\u2029y", "\x7f", "tel:+1-212-555-1234", strings.Repeat("9", 65),
		strings.Repeat("ü", 70), "\xff"}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 500; n++ {
		var d checkData
		results := []checkResult{} // as the handler built them before checkData kept decisions
		for k := rng.IntN(5); k > 0; k-- {
			dec := dnc.Decision{Number: inputs[rng.IntN(len(inputs))], Skip: rng.IntN(2) == 0,
				Reason: dnc.Reason(inputs[rng.IntN(len(inputs))])}
			if rng.IntN(2) == 0 {
				dec.Rule = inputs[rng.IntN(len(inputs))] // "" among them
			}
			d.numbers = append(d.numbers, inputs[rng.IntN(len(inputs))])
			d.decisions = append(d.decisions, dec)
			results = append(results, checkResult{Input: clip.Cut(d.numbers[len(d.numbers)-1]),
				PhoneNumber: dec.Number, Skip: dec.Skip, Reason: string(dec.Reason), Rule: dec.Rule})
		}
		type result struct { // checkResult as written before rules, and the rule
			Input       string `json:"input"`
			PhoneNumber string `json:"phoneNumber"`
			Skip        bool   `json:"skip"`
			Reason      string `json:"reason"`
			Rule        string `json:"rule,omitempty"`
		}
		type reference struct {
			Results []result `json:"results"`
		}
		ref := make([]result, len(results))
		for i, r := range results {
			ref[i] = result(r)
		}
		env := envelope{Message: "DNC check completed successfully", Status: true, Code: 200, Data: d}
		refEnv := env
		refEnv.Data = reference{ref}
		want, err := json.Marshal(refEnv)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := appendEnvelope(nil, env); err != nil || string(got) != string(want) {
			t.Errorf("appendEnvelope = %s, %v;\nencoding/json %s", got, err, want)
		}
		if got, err := json.Marshal(env); err != nil || string(got) != string(want) {
			t.Errorf("json.Marshal = %s, %v;\nencoding/json %s", got, err, want)
		}
	}
}

// TestWalkObjectMatchesStream checks that the one-pass walk reads every valid object
// (none here nests deeply) and gives what json.Decoder gives, value for value and
// error for error: duplicated keys (escaped ones too), unknown keys with nested values
// holding brackets and quotes, missing required keys, wrong types, and white space
// everywhere.
func TestWalkObjectMatchesStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 5000; n++ {
		body := randomObject(rng)
		if !json.Valid(body) {
			t.Fatalf("test body %s is not valid JSON", body)
		}
		got, ok := walkCheck(body)
		if !ok {
			t.Errorf("body %s: walkObject leaves it to the stream", body)
			continue
		}
		if want := streamCheck(body); got != want {
			t.Errorf("body %s:\nwalk   %s\nstream %s", body, got, want)
		}
	}
}

// TestWalkObjectMutated checks, on valid bodies mutated at random (bytes deleted,
// inserted, replaced, spans repeated), that whenever walkObject answers it answers as
// json.Decoder does, and that it accepts a body without error only if json.Valid does.
func TestWalkObjectMutated(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	answered := 0
	for n := 0; n < 30000; n++ {
		body := randomObject(rng)
		for m := 1 + rng.IntN(3); m > 0; m-- {
			body = mutate(rng, body)
		}
		if checkWalk(t, body) {
			answered++
		}
	}
	t.Logf("walkObject answered %d of 30000 mutated bodies", answered)
}

// FuzzWalkObject is TestWalkObjectMutated's check on the fuzzer's bodies.
func FuzzWalkObject(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	for n := 0; n < 50; n++ {
		f.Add(randomObject(rng))
	}
	for _, s := range []string{``, ` `, `{}`, `{} `, `{}x`, `{"a":1}{}`, `[]`, `{"a":01}`, `{"a":-}`,
		`{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`,
		`{"a":{"b":1,}}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":"\x"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "\ufeff{}", `{"a":[[[[[[[[[[[[]]]]]]]]]]]]}`, strings.Repeat("[", 300)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkWalk(t, body) })
}

// checkWalk checks walkObject against decodeObjectStream and json.Valid on body, and
// says whether walkObject answered.
func checkWalk(t *testing.T, body []byte) bool {
	t.Helper()
	// With no fields, walkObject's only answers are "valid" and "duplicated key".
	isObject := bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) &&
		bytes.Count(body, []byte("{"))+bytes.Count(body, []byte("[")) < maxWalkDepth // not too deep
	switch ok, err := walkObject(body, nil); {
	case ok && err == nil && !json.Valid(body):
		t.Errorf("body %q: walkObject accepts it, json.Valid does not", body)
	case !ok && isObject && json.Valid(body):
		t.Errorf("body %q: valid, yet walkObject leaves it to the stream", body)
	}
	got, ok := walkCheck(body)
	if !ok {
		return false
	}
	if want := streamCheck(body); got != want {
		t.Errorf("body %q:\nwalk   %s\nstream %s", body, got, want)
	}
	return true
}

// walkCheck reads body with walkObject as POST /api/dnc/check reads it, and prints what
// it read; ok is walkObject's.
func walkCheck(body []byte) (got string, ok bool) {
	var numbers []string
	var region string
	ok, err := walkObject(body, []field{stringsField("phoneNumbers", true, &numbers), stringField("region", false, &region)})
	return fmt.Sprintf("%q %q %v", numbers, region, err), ok
}

// streamCheck is walkCheck through decodeObjectStream.
func streamCheck(body []byte) string {
	var numbers []string
	var region string
	err := decodeObjectStream(body, stringsField("phoneNumbers", true, &numbers), stringField("region", false, &region))
	return fmt.Sprintf("%q %q %v", numbers, region, err)
}

// randomObject returns a valid JSON object in the shape of a check request, with keys
// and values of every kind.
func randomObject(rng *rand.Rand) []byte {
	keys := []string{`"phoneNumbers"`, `"region"`, `"phonenumbers"`, `"x"`, `"\u0070honeNumbers"`, `"ü"`, `""`,
		"\"\xff\"", "\"\xfe\"", `"a\/b"`}
	values := []string{`["12125551234", "(415) 555-2671"]`, `[]`, `["a\"b", "ü"]`, `"US"`, `"G\u0042"`, `null`,
		`1.5e3`, `true`, `false`, `{"a": "}]", "b": [1, {"c": "\\"}]}`, `[["x"]]`, `[1]`, `"\ud800"`, `-0`,
		`0.25E-7`, `12e+3`, `{}`, `{"k":[null,true,false,-1.0e5]}`, `["\ud83d\ude00", "\b\f\n\r\t\/"]`,
		"[\"\xff\"]", "\"\x7f\"", `[" 1 ", "+1 212"]`, `"\uDBFF\uDFFF"`,
		"[\"\x7f~\"]", "[ ]", "[\n\"a\" ,\t\"b\"\r]", `["1", "ü"]`, `["1", "\n"]`, `["1", 2]`, `["1", null]`}
	spaces := []string{"", " ", "\n\t", "\r\n "}
	var b strings.Builder
	b.WriteString(spaces[rng.IntN(len(spaces))] + "{" + spaces[rng.IntN(len(spaces))])
	for k, count := 0, rng.IntN(4); k < count; k++ {
		if k > 0 {
			b.WriteString("," + spaces[rng.IntN(len(spaces))])
		}
		b.WriteString(keys[rng.IntN(len(keys))] + spaces[rng.IntN(len(spaces))] + ":" + spaces[rng.IntN(len(spaces))] +
			values[rng.IntN(len(values))] + spaces[rng.IntN(len(spaces))])
	}
	b.WriteString("}" + spaces[rng.IntN(len(spaces))])
	return []byte(b.String())
}

// mutate returns body with one random change: a byte deleted, inserted or replaced,
// or a span repeated.
func mutate(rng *rand.Rand, body []byte) []byte {
	const bytesOf = "\"\\{}[],: \t\n-+.0123456789eEtrufalsn/bx\x00\x1f\x7f\x80\xc3\xff"
	out := append([]byte{}, body...)
	if len(out) == 0 {
		return append(out, bytesOf[rng.IntN(len(bytesOf))])
	}
	i := rng.IntN(len(out))
	switch rng.IntN(4) {
	case 0:
		return append(out[:i], out[i+1:]...)
	case 1:
		return append(out[:i], append([]byte{bytesOf[rng.IntN(len(bytesOf))]}, out[i:]...)...)
	case 2:
		out[i] = bytesOf[rng.IntN(len(bytesOf))]
		return out
	default:
		j := i + rng.IntN(len(out)-i+1)
		return append(out[:j], append(append([]byte{}, out[i:j]...), out[j:]...)...)
	}
}

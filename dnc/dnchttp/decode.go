package dnchttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// A field is one key of a request body that an endpoint reads.
type field struct {
	name     string                      // the key, matched exactly (case-sensitive)
	required bool                        // missing is 400 "<name> is required"
	decode   func(json.RawMessage) error // reads the value; its error is a *requestError

	// walk, if not nil, reads the value at body[i] in walkObject's one pass when it
	// is valid JSON that decode would take without error, and as decode would: it
	// returns the index just past the value. For any other value it returns -1 and
	// leaves the field alone; the value is then checked whole and given to decode.
	walk func(body []byte, i int) int
}

// decodeObject reads body as exactly one JSON object and hands each known key's value
// to its field. Duplicated keys (known or not, compared after unescaping), anything
// that is not one object, trailing data and malformed JSON are *requestError (400);
// unknown keys are skipped whatever their values.
//
// walkObject reads the usual body, one object of valid JSON, in one pass that checks
// the syntax as it goes; any body it does not accept as it stands goes through
// json.Decoder (decodeObjectStream), whose errors name what is wrong. Where walkObject
// answers, it answers as decodeObjectStream does.
func decodeObject(body []byte, fields ...field) error {
	if ok, err := walkObject(body, fields); ok {
		return err
	}
	return decodeObjectStream(body, fields...)
}

// walkObject is decodeObject for a body that is one JSON object, strictly as
// encoding/json reads JSON, and not nested deeper than maxWalkDepth. It does the
// checks of decodeObjectStream in the same order, each at the point where the stream
// makes it: a key is looked up once read, a field decodes its value once the value
// has been read whole and found valid, a required key is looked for after the end.
// So when it answers (ok), its answer is decodeObjectStream's. It leaves every syntax
// error, trailing data included, to decodeObjectStream (not ok): a field may by then
// have decoded its value, and will again.
func walkObject(body []byte, fields []field) (ok bool, err error) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false, nil
	}
	seen := make(map[string]bool)
	if i = skipSpace(body, i+1); i < len(body) && body[i] == '}' {
		i++ // {}
	} else {
		for { // i is at a key
			if i >= len(body) || body[i] != '"' {
				return false, nil
			}
			end, plain := scanString(body, i)
			if end < 0 {
				return false, nil
			}
			key := string(body[i+1 : end-1])
			if !plain { // escapes or non-ASCII: decoded as json.Decoder decodes keys
				if json.Unmarshal(body[i:end], &key) != nil {
					return false, nil // cannot happen: scanString checked it
				}
			}
			if seen[key] {
				return true, badRequest(fmt.Sprintf("request body: key %q is given more than once", key))
			}
			seen[key] = true
			if i = skipSpace(body, end); i >= len(body) || body[i] != ':' {
				return false, nil
			}
			start := skipSpace(body, i+1)
			if end = walkValue(body, start, key, fields); end < 0 { // checked whole, then decoded
				if end = scanValue(body, start, 1); end < 0 {
					return false, nil
				}
				if err := decodeValue(body[start:end], key, fields); err != nil {
					return true, err
				}
			}
			i = skipSpace(body, end)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i >= len(body) || body[i] != '}' {
				return false, nil
			}
			i++
			break
		}
	}
	if skipSpace(body, i) != len(body) {
		return false, nil // trailing data: the stream names it
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			return true, badRequest(f.name + " is required")
		}
	}
	return true, nil
}

// decodeValue hands raw to the decode of key's field, if there is one.
func decodeValue(raw json.RawMessage, key string, fields []field) error {
	for _, f := range fields {
		if f.name == key {
			if err := f.decode(raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkValue reads the value at body[i] with the walk of key's field, if it has one,
// and returns the walk's answer; -1 when there is no such walk.
func walkValue(body []byte, i int, key string, fields []field) int {
	for _, f := range fields {
		if f.name == key && f.walk != nil {
			return f.walk(body, i)
		}
	}
	return -1
}

// maxWalkDepth is the deepest nesting of arrays and objects that walkObject reads; a
// deeper body goes to json.Decoder, which has its own limit.
const maxWalkDepth = 256

// scanValue returns the index just past the JSON value that starts at b[i], at
// nesting depth depth, or -1 if there is no valid JSON value there (or it nests
// deeper than maxWalkDepth). White space after the value is not part of it.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		if depth >= maxWalkDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		j := skipSpace(b, i+1)
		if j < len(b) && b[j] == closer {
			return j + 1
		}
		for {
			if c == '{' { // a key and its colon
				if j >= len(b) || b[j] != '"' {
					return -1
				}
				if j, _ = scanString(b, j); j < 0 {
					return -1
				}
				if j = skipSpace(b, j); j >= len(b) || b[j] != ':' {
					return -1
				}
				j = skipSpace(b, j+1)
			}
			if j = scanValue(b, j, depth+1); j < 0 {
				return -1
			}
			if j = skipSpace(b, j); j >= len(b) {
				return -1
			}
			switch b[j] {
			case ',':
				j = skipSpace(b, j+1)
			case closer:
				return j + 1
			default:
				return -1
			}
		}
	case 't':
		return literalEnd(b, i, "true")
	case 'f':
		return literalEnd(b, i, "false")
	case 'n':
		return literalEnd(b, i, "null")
	default:
		return numberEnd(b, i)
	}
}

// literalEnd returns the index just past lit at b[i], or -1 if lit is not there.
func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd returns the index just past the JSON number at b[i], or -1 if there is
// none: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digitsEnd(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digitsEnd(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digitsEnd(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// digitsEnd returns the index of the first byte of b at or after i that is not an
// ASCII digit.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// plainByte[c] says that c stands for itself inside a JSON string and is ASCII: it is
// neither '"', '\\', a control character nor a byte of a multi-byte sequence.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString returns the index just past the JSON string that starts at b[i] (a
// '"'), or -1 if it is not one as encoding/json reads strings: it must end, hold no
// control character (below U+0020) and only the escapes \" \\ \/ \b \f \n \r \t and
// \uXXXX. Other bytes, invalid UTF-8 included, are accepted, as encoding/json accepts
// them. plain is stringEnd's: printable ASCII without escapes.
func scanString(b []byte, i int) (end int, plain bool) {
	plain = true
	for j := i + 1; j < len(b); j++ {
		if plainByte[b[j]] {
			continue
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			if j++; j >= len(b) {
				return -1, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-j < 5 || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return -1, false
				}
				j += 4
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default: // a byte of a multi-byte sequence, or not UTF-8
			plain = false
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decodeObjectStream is decodeObject through json.Decoder, for any body.
func decodeObjectStream(body []byte, fields ...field) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("request body is empty: want a JSON object")
		}
		return syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("request body must be a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		key, ok := tok.(string)
		if !ok { // cannot happen: the decoder only yields strings as keys
			return badRequest("request body: malformed JSON object")
		}
		if seen[key] {
			return badRequest(fmt.Sprintf("request body: key %q is given more than once", key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(err)
		}
		for _, f := range fields {
			if f.name == key {
				if err := f.decode(raw); err != nil {
					return err
				}
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body: trailing data after the JSON object")
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			return badRequest(f.name + " is required")
		}
	}
	return nil
}

// syntaxError turns a decoding error into a *requestError.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Not se.Offset: json.Decoder counts it from different points for Token and
		// Decode, so it would mislead.
		return badRequest(fmt.Sprintf("request body: malformed JSON: %v", se))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body: malformed JSON: unexpected end of input")
	default:
		// json.Decoder reports some structural errors (a missing colon) without a
		// *SyntaxError. The body is in memory: no read error lands here.
		return badRequest(fmt.Sprintf("request body: malformed JSON: %v", err))
	}
}

// kind names the JSON type of a raw value, for error messages.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	return kindOf(raw[0])
}

// kindOf names the JSON type of a value that starts with c.
func kindOf(c byte) string {
	switch c {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	default:
		return "a number"
	}
}

// boolField reads a JSON true or false, and nothing else, into dst.
func boolField(name string, required bool, dst *bool) field {
	return field{name: name, required: required, decode: func(raw json.RawMessage) error {
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return badRequest(fmt.Sprintf("%s must be a JSON boolean (true or false), got %s", name, kind(raw)))
		}
		return nil
	}}
}

// stringField reads a JSON string into dst. null is accepted as "not given" for an
// optional field.
func stringField(name string, required bool, dst *string) field {
	return field{name: name, required: required, decode: func(raw json.RawMessage) error {
		raw = bytes.TrimSpace(raw)
		if !required && string(raw) == "null" {
			return nil
		}
		if kind(raw) != "a string" {
			return badRequest(fmt.Sprintf("%s must be a JSON string, got %s", name, kind(raw)))
		}
		return decodeString(name, raw, dst)
	}}
}

// timeField reads a JSON string holding an RFC 3339 timestamp (parseTime) into dst.
// null is accepted as "not given" for an optional field, as by stringField.
func timeField(name string, required bool, dst *time.Time) field {
	var s string
	str := stringField(name, required, &s)
	return field{name: name, required: required, decode: func(raw json.RawMessage) error {
		s = ""
		if err := str.decode(raw); err != nil {
			return err
		}
		if !required && string(bytes.TrimSpace(raw)) == "null" {
			*dst = time.Time{}
			return nil
		}
		t, err := parseTime(name, s)
		if err != nil {
			return err
		}
		*dst = t
		return nil
	}}
}

// decodeString decodes the JSON string raw into dst, exactly: encoding/json would
// silently replace invalid UTF-8 and unpaired UTF-16 surrogate escapes ("\ud800") with
// U+FFFD, so both are 400 here, named after the field.
func decodeString(name string, raw json.RawMessage, dst *string) error {
	if !utf8.Valid(raw) {
		return badRequest(name + " is not valid UTF-8")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // to the escaped character; the loop then steps past it
		r, ok := escapedRune(raw[i:])
		if !ok || !utf16.IsSurrogate(r) {
			continue
		}
		// A high surrogate must be followed at once by an escaped low one: \ud83d\ude00.
		if next := raw[i+5:]; r < 0xdc00 && len(next) > 0 && next[0] == '\\' {
			if low, ok := escapedRune(next[1:]); ok && low >= 0xdc00 && low <= 0xdfff {
				i += 10 // to the pair's last hex digit
				continue
			}
		}
		return badRequest(fmt.Sprintf("%s holds an unpaired UTF-16 surrogate escape (\\%s)", name, raw[i:i+5]))
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return badRequest(fmt.Sprintf("%s: malformed JSON string", name))
	}
	return nil
}

// escapedRune returns the rune of b's leading "uXXXX" (a JSON \u escape after its
// backslash), and whether b starts with one.
func escapedRune(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[1:5]), 16, 16)
	return rune(n), err == nil
}

// stringsField reads a JSON array of strings into dst. An array of plain strings is
// read in walkObject's pass (plainStrings).
func stringsField(name string, required bool, dst *[]string) field {
	return field{name: name, required: required, decode: func(raw json.RawMessage) error {
		if kind(raw) != "an array" {
			return badRequest(fmt.Sprintf("%s must be a JSON array of strings, got %s", name, kind(raw)))
		}
		out, err := decodeStrings(name, raw)
		if err != nil {
			return err
		}
		*dst = out
		return nil
	}, walk: func(body []byte, i int) int {
		out, end := plainStrings(body, i)
		if end >= 0 {
			*dst = out
		}
		return end
	}}
}

// plainStrings reads at b[i] a JSON array whose elements are all plain strings
// (ASCII from the space up, without escapes), such as a batch of phone numbers, in
// one pass that checks its syntax: it returns the elements and the index just past
// the array, or -1 for any other value. b from i on is copied into one string, and
// each element is a part of it.
func plainStrings(b []byte, i int) ([]string, int) {
	if i >= len(b) || b[i] != '[' {
		return nil, -1
	}
	s := string(b[i:])
	out := make([]string, 0, strings.Count(s, `"`)/2)
	j := skipSpace(s, 1)
	if j < len(s) && s[j] == ']' {
		return out, i + j + 1
	}
	for j < len(s) && s[j] == '"' {
		k := j + 1
		for k < len(s) && plainByte[s[k]] {
			k++
		}
		if k >= len(s) || s[k] != '"' { // an escape, not ASCII, a control character, or no end
			return nil, -1
		}
		out = append(out, s[j+1:k])
		switch j = skipSpace(s, k+1); {
		case j < len(s) && s[j] == ',':
			j = skipSpace(s, j+1)
		case j < len(s) && s[j] == ']':
			return out, i + j + 1
		default:
			return nil, -1
		}
	}
	return nil, -1
}

// decodeStrings reads the JSON array raw, element by element, with the rules and
// error texts of decodeString, in one pass and without reflection: raw is valid JSON
// (walkObject or json.Decoder checked it), so only element boundaries need finding.
// raw is copied into one string, and each element written without escapes is a part
// of it; only an element with escapes is decoded on its own (by decodeString), and
// only an error formats the element's name.
func decodeStrings(name string, raw json.RawMessage) ([]string, error) {
	s := string(bytes.TrimSpace(raw))
	out := make([]string, 0, strings.Count(s, `"`)/2)
	i := skipSpace(s, 1) // past '['
	for idx := 0; s[i] != ']'; idx++ {
		if s[i] != '"' {
			return nil, badRequest(fmt.Sprintf("%s[%d] must be a JSON string, got %s", name, idx, kindOf(s[i])))
		}
		end, plain := stringEnd(s, i)
		switch elem := s[i+1 : end-1]; {
		case plain:
			out = append(out, elem)
		case strings.IndexByte(elem, '\\') < 0: // non-ASCII, no escapes: its bytes, if UTF-8
			if !utf8.ValidString(elem) {
				return nil, badRequest(fmt.Sprintf("%s[%d] is not valid UTF-8", name, idx))
			}
			out = append(out, elem)
		default:
			var v string
			if err := decodeString(fmt.Sprintf("%s[%d]", name, idx), json.RawMessage(s[i:end]), &v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if i = skipSpace(s, end); s[i] == ',' {
			i = skipSpace(s, i+1)
		}
	}
	return out, nil
}

// stringEnd returns the index just past the JSON string that starts at s[i] (a '"'),
// and whether the string is plain: printable ASCII without escapes, so that its bytes
// between the quotes are its value.
func stringEnd[T string | []byte](s T, i int) (end int, plain bool) {
	plain = true
	for j := i + 1; ; j++ {
		if plainByte[s[j]] {
			continue
		}
		switch s[j] {
		case '\\':
			plain = false
			j++ // the escaped character cannot end the string
		case '"':
			return j + 1, plain
		default: // not ASCII (a control character is not valid JSON)
			plain = false
		}
	}
}

// skipSpace returns the index of the first byte of s at or after i that is not JSON
// white space.
func skipSpace[T string | []byte](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

package dnchttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A field is one key of a request body that an endpoint reads.
type field struct {
	name     string                      // the key, matched exactly (case-sensitive)
	required bool                        // missing is 400 "<name> is required"
	decode   func(json.RawMessage) error // reads the value; its error is a *requestError
}

// decodeObject reads body as exactly one JSON object and hands each known key's value
// to its field. Duplicated keys (known or not, compared after unescaping), anything
// that is not one object, trailing data and malformed JSON are *requestError (400);
// unknown keys are skipped whatever their values.
//
// A body that is one valid JSON object (json.Valid, one scan) is walked directly by
// decodeValidObject; any other body goes through json.Decoder (decodeObjectStream),
// whose errors name what is wrong. Both give the same answer on a valid object.
func decodeObject(body []byte, fields ...field) error {
	if i := skipSpace(body, 0); i < len(body) && body[i] == '{' && json.Valid(body) {
		return decodeValidObject(body, fields)
	}
	return decodeObjectStream(body, fields...)
}

// decodeValidObject is decodeObject for a body that json.Valid accepts and that
// starts with '{': the same checks, in the same order, without a second scan.
func decodeValidObject(body []byte, fields []field) error {
	seen := make(map[string]bool)
	i := skipSpace(body, skipSpace(body, 0)+1) // past '{'
	for body[i] != '}' {
		end, plain := stringEnd(body, i)
		key := string(body[i+1 : end-1])
		if !plain { // escapes or non-ASCII: decoded as json.Decoder decodes keys
			if err := json.Unmarshal(body[i:end], &key); err != nil {
				return syntaxError(err)
			}
		}
		if seen[key] {
			return badRequest(fmt.Sprintf("request body: key %q is given more than once", key))
		}
		seen[key] = true
		start := skipSpace(body, skipSpace(body, end)+1) // past ':'
		end = valueEnd(body, start)
		for _, f := range fields {
			if f.name == key {
				if err := f.decode(json.RawMessage(body[start:end])); err != nil {
					return err
				}
			}
		}
		if i = skipSpace(body, end); body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			return badRequest(f.name + " is required")
		}
	}
	return nil
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

// stringsField reads a JSON array of strings into dst.
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
	}}
}

// decodeStrings reads the JSON array raw, element by element, with the rules and
// error texts of decodeString, in one pass and without reflection: raw is valid JSON
// (json.Decoder checked it), so only element boundaries need finding. raw is copied
// into one string, and each element written without escapes is a part of it; only an
// element with escapes is decoded on its own (by decodeString), and only an error
// formats the element's name.
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
		switch c := s[j]; {
		case c == '\\':
			plain = false
			j++ // the escaped character cannot end the string
		case c == '"':
			return j + 1, plain
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
}

// valueEnd returns the index just past the JSON value that starts at s[i], in valid
// JSON.
func valueEnd(s []byte, i int) int {
	switch s[i] {
	case '"':
		end, _ := stringEnd(s, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch s[j] {
			case '"':
				j, _ = stringEnd(s, j)
				j-- // the loop steps past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i // a number, true, false or null
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
		j++
	}
	return j
}

// skipSpace returns the index of the first byte of s at or after i that is not JSON
// white space.
func skipSpace[T string | []byte](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

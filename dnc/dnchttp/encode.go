package dnchttp

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// jsonAppender is reply data that writes its own JSON, byte for byte what
// encoding/json writes for it, without reflection. writeEnvelope uses it for the
// one large reply, the results of POST /api/dnc/check.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSON writes d as encoding/json writes {"results": [d.result(0), ...]}.
func (d checkData) appendJSON(b []byte) []byte {
	b = slices.Grow(b, 96*len(d.numbers))
	b = append(b, `{"results":[`...)
	for i := range d.numbers {
		if i > 0 {
			b = append(b, ',')
		}
		r := d.result(i)
		b = append(b, `{"input":`...)
		b = appendJSONString(b, r.Input)
		b = append(b, `,"phoneNumber":`...)
		b = appendJSONString(b, r.PhoneNumber)
		b = append(b, `,"skip":`...)
		b = strconv.AppendBool(b, r.Skip)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, r.Reason)
		if r.Rule != "" { // omitempty
			b = append(b, `,"rule":`...)
			b = appendJSONString(b, r.Rule)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// asIs[c] says that encoding/json writes the byte c of a string as it is: ASCII from
// the space up (DEL included) but for '"', '\\' and the HTML characters '<', '>' and '&'.
var asIs = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// appendJSONString writes s as json.Marshal(s) does: as it is between quotes when
// encoding/json leaves each of its bytes alone (asIs), through json.Marshal otherwise
// (escapes, HTML characters, non-ASCII text).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !asIs[s[i]] {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendEnvelope appends json.Marshal(env) to dst, with data that is a jsonAppender
// written by itself.
func appendEnvelope(dst []byte, env envelope) ([]byte, error) {
	a, ok := env.Data.(jsonAppender)
	if !ok {
		b, err := json.Marshal(env)
		return append(dst, b...), err
	}
	env.Data = nil // omitted: the envelope ends where "data" goes, its last field
	b, err := json.Marshal(env)
	if err != nil {
		return dst, err
	}
	dst = append(dst, b[:len(b)-1]...)
	dst = append(dst, `,"data":`...)
	return append(a.appendJSON(dst), '}'), nil
}

// bufs holds reply buffers between requests: a batch check's reply is about a
// megabyte, which would otherwise be allocated (and zeroed) for each request.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 4 << 20

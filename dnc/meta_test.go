package dnc_test

import (
	"errors"
	"testing"

	"github.com/dncguard/dncguard/dnc"
)

// controls are characters that metadata must not hold: they would corrupt a terminal,
// a log line or a CSV export, or reorder the text a person reads (Trojan Source).
var controls = []struct{ name, s string }{
	{"NUL", "a\x00b"},
	{"ESC", "\x1b[2Jcomplaint"},
	{"CR", "complaint\r"},
	{"LF", "complaint\nforged: line"},
	{"tab", "a\tb"},
	{"DEL", "a\x7fb"},
	{"C1 NEL", "a\u0085b"},
	{"C1 CSI", "a\u009bb"},
	{"LRM", "a\u200eb"},
	{"RLM", "a\u200fb"},
	{"LRE", "a\u202ab"},
	{"RLO", "a\u202eb"},
	{"LRI", "a\u2066b"},
	{"PDI", "a\u2069b"},
}

// Metadata holding a control or bidirectional-formatting character is ErrInvalidArgument
// and nothing is written.
func TestAddEntryRejectsControlCharacters(t *testing.T) {
	b := miniBackend(t)
	enf := newEnforcer(t, b.client)
	ctx := ctxT(t)
	o := org(t)
	before := snapshot(t, b.client)
	for _, c := range controls {
		for _, field := range []string{"type", "batchId", "requestUUID"} {
			m := dnc.Meta{Type: "complaint", BatchID: "B-1", RequestUUID: "R-1"}
			switch field {
			case "type":
				m.Type = c.s
			case "batchId":
				m.BatchID = c.s
			default:
				m.RequestUUID = c.s
			}
			if _, err := enf.AddEntry(ctx, o, "+12125551234", m); !errors.Is(err, dnc.ErrInvalidArgument) {
				t.Errorf("%s in %s: AddEntry error %v; want ErrInvalidArgument", c.name, field, err)
			}
		}
	}
	if after := snapshot(t, b.client); after != before {
		t.Errorf("rejected AddEntry calls wrote:\n%s", after)
	}
}

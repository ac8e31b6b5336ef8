package store

import "testing"

func TestKeys(t *testing.T) {
	k := orgKeys("dnc", "acme")
	if k.entries != "dnc:{acme}:entries" || k.ids != "dnc:{acme}:ids" || k.added != "dnc:{acme}:added" {
		t.Errorf("orgKeys = %+v", k)
	}
	for _, c := range []struct{ prefix, org string }{{"dnc", "acme"}, {"app:x", "ünïcode:org"}, {"p", "a"}} {
		if got, want := entriesKey(c.prefix, c.org), orgKeys(c.prefix, c.org).entries; got != want {
			t.Errorf("entriesKey(%q, %q) = %q; want %q", c.prefix, c.org, got, want)
		}
	}
	if toggleField[0] == '+' {
		t.Error("the toggle field could collide with an E.164 number")
	}
}

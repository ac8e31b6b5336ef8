package store

import (
	"slices"
	"testing"
)

func TestCheckKeysMatchSchema(t *testing.T) {
	for _, c := range []struct{ prefix, org string }{{"dnc", "acme"}, {"app:x", "ünïcode:org"}, {"p", "a"}} {
		k := orgKeys(c.prefix, c.org)
		want := []string{k.enabled, k.numbers, k.entries}
		if got := checkKeys(c.prefix, c.org); !slices.Equal(got, want) {
			t.Errorf("checkKeys(%q, %q) = %q; want %q", c.prefix, c.org, got, want)
		}
	}
	if got := orgKeys("dnc", "acme").enabled; got != "dnc:{acme}:enabled" {
		t.Errorf("enabled key = %q", got)
	}
}

package store

import (
	"strconv"
	"strings"
	"testing"
)

func TestOrgKeys(t *testing.T) {
	k := orgKeys("dnc", "acme")
	if k != (keys{"dnc:{acme}:meta", "dnc:{acme}:f", "dnc:{acme}:d"}) {
		t.Errorf("orgKeys = %q", k)
	}
	for _, key := range k {
		if !strings.HasPrefix(key, Base("dnc", "acme")) {
			t.Errorf("%s lacks the base", key)
		}
	}
}

func TestCheckOrg(t *testing.T) {
	for _, org := range []string{"acme", "org:with:colons", "ünïcode", strings.Repeat("a", MaxOrgLen)} {
		if err := CheckOrg(org); err != nil {
			t.Errorf("CheckOrg(%q) = %v", org, err)
		}
	}
	for _, org := range []string{"", "a b", "a{b", "a}b", "tab\t", "\x7f", "bad\xff", strings.Repeat("a", MaxOrgLen+1), "nb\u00a0sp"} {
		if err := CheckOrg(org); err == nil {
			t.Errorf("CheckOrg(%q) = nil; want an error", org)
		}
	}
}

func TestBucketKey(t *testing.T) {
	for _, b := range []uint64{0, 7, 123456789} {
		if got, want := bucketKey("dnc", "ünïcode", b), Base("dnc", "ünïcode")+"b:"+strconv.FormatUint(b, 10); got != want {
			t.Errorf("bucketKey = %q; want %q", got, want)
		}
	}
}

func TestReadStamp(t *testing.T) {
	for _, c := range []struct {
		stamp     string
		def, want bool
		ok        bool
	}{
		{"1:e", false, true, true}, {"0:e", true, false, true}, {"-:e", true, true, true},
		{"-:e", false, false, true}, {"x:e", false, true, true}, {"1", true, true, false},
	} {
		on, epoch, ok := readStamp(c.stamp, c.def)
		if on != c.want || ok != c.ok || (ok && epoch != "e") {
			t.Errorf("readStamp(%q, %v) = %v, %q, %v; want %v, %v", c.stamp, c.def, on, epoch, ok, c.want, c.ok)
		}
	}
}

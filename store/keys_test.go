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

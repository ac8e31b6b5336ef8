package dnchttp_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
)

func TestStaticTokens(t *testing.T) {
	ctx := context.Background()
	s, err := dnchttp.NewStaticTokens(map[string]string{"t0k3n": "acme", "abc==": "globex", "other": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token, org string
		err        error
	}{
		{"t0k3n", "acme", nil},
		{"abc==", "globex", nil},
		{"other", "acme", nil},
		{"", "", dnchttp.ErrUnknownToken},
		{"t0k3", "", dnchttp.ErrUnknownToken},
		{"t0k3n ", "", dnchttp.ErrUnknownToken},
		{"T0K3N", "", dnchttp.ErrUnknownToken},
		{strings.Repeat("x", 10000), "", dnchttp.ErrUnknownToken},
	} {
		org, err := s.Org(ctx, tc.token)
		if org != tc.org || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Org(%q) = %q, %v; want %q, %v", tc.token, org, err, tc.org, tc.err)
		}
	}
	if got, want := s.Orgs(), []string{"acme", "globex"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Orgs() = %q; want %q", got, want)
	}
	for _, bad := range []map[string]string{{"": "acme"}, {"a b": "acme"}} {
		if _, err := dnchttp.NewStaticTokens(bad); err == nil {
			t.Errorf("NewStaticTokens(%q) succeeded; want an error", bad)
		}
	}
	// An org the library would reject fails here, not on every request.
	for _, org := range []string{"", "ac me", "a{b}", "tab\there", strings.Repeat("x", 129)} {
		_, err := dnchttp.NewStaticTokens(map[string]string{"t0k3n": org})
		if !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("NewStaticTokens(org %q) = %v; want an error matching dnc.ErrInvalidOrg", org, err)
		}
		if err != nil && strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("NewStaticTokens(org %q) error quotes the token: %v", org, err)
		}
	}
	none, err := dnchttp.NewStaticTokens(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Org(ctx, "t0k3n"); !errors.Is(err, dnchttp.ErrUnknownToken) {
		t.Errorf("empty StaticTokens: Org = %v; want ErrUnknownToken", err)
	}
}

func TestStaticOrgs(t *testing.T) {
	ctx := context.Background()
	s, err := dnchttp.NewStaticOrgs("acme", "globex")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		org  string
		want bool
	}{{"acme", true}, {"globex", true}, {"ACME", false}, {"", false}, {"initech", false}} {
		if got, err := s.HasUsers(ctx, tc.org); got != tc.want || err != nil {
			t.Errorf("HasUsers(%q) = %v, %v; want %v, nil", tc.org, got, err, tc.want)
		}
	}
	var zero dnchttp.StaticOrgs
	if got, _ := zero.HasUsers(ctx, "acme"); got {
		t.Error("zero StaticOrgs knows acme")
	}
	for _, org := range []string{"ac me", "a{b}", "new\nline"} {
		_, err := dnchttp.NewStaticOrgs("acme", org)
		if !errors.Is(err, dnc.ErrInvalidOrg) || !strings.Contains(err.Error(), fmt.Sprintf("%q", org)) {
			t.Errorf("NewStaticOrgs(acme, %q) = %v; want an error matching dnc.ErrInvalidOrg that names the org", org, err)
		}
	}
	if _, err := dnchttp.NewStaticOrgs(""); !errors.Is(err, dnc.ErrInvalidOrg) {
		t.Errorf("NewStaticOrgs(\"\") = %v; want an error matching dnc.ErrInvalidOrg", err)
	}
}

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"", map[string]string{}, false},
		{"t0k3n=acme", map[string]string{"t0k3n": "acme"}, false},
		{" t0k3n = acme , s3cr3t=globex,, ", map[string]string{"t0k3n": "acme", "s3cr3t": "globex"}, false},
		{"abc===acme", map[string]string{"abc==": "acme"}, false}, // base64 padding stays in the token
		{"t0k3n", nil, true},
		{"=acme", nil, true},
		{"t0k3n=", nil, true},
		{"a b=acme", nil, true},
		{"t=acme,t=globex", nil, true},
	} {
		got, err := dnchttp.ParseTokens(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseTokens(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("ParseTokens(%q) error quotes the token: %v", tc.in, err)
		}
	}
	// An org the library would reject fails here, not on every request.
	for _, in := range []string{"t0k3n=ac me", "t0k3n=acme,tok2=a{b}", "t0k3n=" + strings.Repeat("x", 129)} {
		_, err := dnchttp.ParseTokens(in)
		if !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("ParseTokens(%q) = %v; want an error matching dnc.ErrInvalidOrg", in, err)
		}
		if err != nil && (strings.Contains(err.Error(), "t0k3n") || strings.Contains(err.Error(), "tok2")) {
			t.Errorf("ParseTokens(%q) error quotes a token: %v", in, err)
		}
	}
}

func TestInternational(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"12125551234", "+12125551234"},
		{"+12125551234", "+12125551234"},
		{"  1 212 555 1234 ", "+1 212 555 1234"},
		{"1-212-555-1234 ext. 9", "+1-212-555-1234 ext. 9"},
		{"(1) 212 555 1234", "(+1) 212 555 1234"},
		{"tel:12125551234", "tel:+12125551234"},
		{"TEL:+1-212-555-1234", "TEL:+1-212-555-1234"},
		{"＋1 212 555 1234", "＋1 212 555 1234"},
		{"１２１２５５５１２３４", "+１２１２５５５１２３４"},
		{"2125551234", "+2125551234"},
		{"011 44 20 7946 0958", "+011 44 20 7946 0958"},
		{"1-800-FLOWERS", "+1-800-FLOWERS"},
		{"junk", "junk"},
		{"", ""},
	} {
		if got := dnchttp.International(tc.in); got != tc.want {
			t.Errorf("International(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewNeedsItsParts(t *testing.T) {
	auth, _ := dnchttp.NewStaticTokens(nil)
	orgs, _ := dnchttp.NewStaticOrgs()
	if _, err := dnchttp.New(nil, auth, orgs); err == nil {
		t.Error("New without an Enforcer succeeded")
	}
}

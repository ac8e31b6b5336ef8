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

func TestParseIdentities(t *testing.T) {
	type id = dnchttp.Identity
	for _, tc := range []struct {
		in   string
		want map[string]id
		err  string // in the error; "" for none
	}{
		{"", map[string]id{}, ""},
		{"t0k3n=acme", map[string]id{"t0k3n": {Org: "acme"}}, ""},
		{"t0k3n=acme (alice@acme)", map[string]id{"t0k3n": {Org: "acme", Actor: "alice@acme"}}, ""},
		{" t0k3n = acme\t( Alice Smith ) , s3cr3t=globex,, ", map[string]id{"t0k3n": {Org: "acme", Actor: "Alice Smith"}, "s3cr3t": {Org: "globex"}}, ""},
		{"abc===acme (ops (nyc))", map[string]id{"abc==": {Org: "acme", Actor: "ops (nyc)"}}, ""},
		{"t0k3n=acme(alice)", map[string]id{"t0k3n": {Org: "acme(alice)"}}, ""}, // no white space: all org, as before
		{"t0k3n=tenant:acme", map[string]id{"t0k3n": {Org: "tenant:acme"}}, ""}, // ":" is part of an org id
		{"t0k3n=acme (Zoë)", map[string]id{"t0k3n": {Org: "acme", Actor: "Zoë"}}, ""},
		{"t0k3n=acme corp", nil, "invalid org id"}, // a space in an org, not an actor: still an error
		{"t0k3n=acme (alice", nil, `the actor ends with ")"`},
		{"t0k3n=acme (alice) x", nil, `the actor ends with ")"`},
		{"t0k3n=acme ()", nil, "empty actor"},
		{"t0k3n=acme (\u200b)", nil, "actor: U+200B at byte 0: want printable text"},
		{"t0k3n=acme (a\u00a0b)", nil, "actor: U+00A0 at byte 1: want printable text"},
		{"t0k3n=acme (" + strings.Repeat("x", dnc.MaxActorLen+1) + ")", nil, "actor: 257 bytes"},
		{"t0k3n=ac{me} (alice)", nil, "invalid org id"},
		{"t0k3n= (alice)", map[string]id{"t0k3n": {Org: "(alice)"}}, ""}, // an org id, as before actors
		{"t0k3n=acme,t0k3n=acme (alice)", nil, "token given twice"},
	} {
		got, err := dnchttp.ParseIdentities(tc.in)
		switch {
		case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
			t.Errorf("ParseIdentities(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseIdentities(%q) = %v, %v; want an error holding %q", tc.in, got, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("ParseIdentities(%q) error quotes the token: %v", tc.in, err)
		}
		// ParseTokens reads no actors: what names one is an invalid org there, as before.
		actors := false
		for _, id := range tc.want {
			actors = actors || id.Actor != ""
		}
		if actors {
			if _, err := dnchttp.ParseTokens(tc.in); !errors.Is(err, dnc.ErrInvalidOrg) {
				t.Errorf("ParseTokens(%q) = %v; want an error matching dnc.ErrInvalidOrg", tc.in, err)
			}
		}
	}
}

func TestStaticIdentities(t *testing.T) {
	ctx := context.Background()
	s, err := dnchttp.NewStaticIdentities(map[string]dnchttp.Identity{
		"t0k3n": {Org: "acme", Actor: "alice"}, "other": {Org: "acme"}, "abc==": {Org: "globex", Actor: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	var _ dnchttp.IdentityAuthenticator = s
	for _, tc := range []struct {
		token string
		want  dnchttp.Identity
		err   error
	}{
		{"t0k3n", dnchttp.Identity{Org: "acme", Actor: "alice"}, nil},
		{"other", dnchttp.Identity{Org: "acme"}, nil},
		{"abc==", dnchttp.Identity{Org: "globex", Actor: "bob"}, nil},
		{"t0k3n ", dnchttp.Identity{}, dnchttp.ErrUnknownToken},
		{"", dnchttp.Identity{}, dnchttp.ErrUnknownToken},
	} {
		got, err := s.Identity(ctx, tc.token)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Identity(%q) = %+v, %v; want %+v, %v", tc.token, got, err, tc.want, tc.err)
		}
		if org, err := s.Org(ctx, tc.token); org != tc.want.Org || (tc.err == nil) != (err == nil) {
			t.Errorf("Org(%q) = %q, %v; want %q", tc.token, org, err, tc.want.Org)
		}
	}
	if got, want := s.Orgs(), []string{"acme", "globex"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Orgs() = %q; want %q", got, want)
	}
	for _, bad := range []dnchttp.Identity{{Org: "ac me"}, {Org: "acme", Actor: "a\tb"}, {Org: "acme", Actor: strings.Repeat("x", dnc.MaxActorLen+1)}} {
		if _, err := dnchttp.NewStaticIdentities(map[string]dnchttp.Identity{"t0k3n": bad}); err == nil || strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("NewStaticIdentities(%+v) = %v; want an error that does not quote the token", bad, err)
		}
	}
	// NewStaticTokens gives identities without actors.
	st, _ := dnchttp.NewStaticTokens(map[string]string{"t0k3n": "acme"})
	if got, err := st.Identity(ctx, "t0k3n"); got != (dnchttp.Identity{Org: "acme"}) || err != nil {
		t.Errorf("NewStaticTokens: Identity = %+v, %v; want org acme, no actor", got, err)
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

package dnchttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/dncguard/dncguard/dnc"
)

// ErrUnknownToken is returned by an Authenticator for a token it does not know. The
// Handler answers it with 401.
var ErrUnknownToken = errors.New("dnchttp: unknown token")

// An Authenticator says which org a bearer token acts for. It must be safe for
// concurrent use.
type Authenticator interface {
	// Org returns the org that token acts for, or ErrUnknownToken. Any other error is a
	// failure of the Authenticator itself, answered with 500.
	Org(ctx context.Context, token string) (org string, err error)
}

// An OrgDirectory says whether an org has users. The Handler answers every request of
// an org without users with 404 "No users found for this organization". It must be safe
// for concurrent use.
type OrgDirectory interface {
	// HasUsers reports whether org has users. An error is answered with 500.
	HasUsers(ctx context.Context, org string) (bool, error)
}

// StaticTokens is an Authenticator over a fixed set of tokens. It keeps only the
// tokens' SHA-256 digests and compares a presented token's digest with every one of
// them in constant time, so neither the tokens' contents nor their lengths show in the
// time it takes. It is safe for concurrent use.
type StaticTokens struct {
	digests [][sha256.Size]byte
	orgs    []string // orgs[i] is the org of digests[i]
}

// NewStaticTokens returns a StaticTokens that maps each token to its org. Tokens must
// be non-empty and hold no white space; orgs must be valid org ids ([dnc.ValidOrg]), so
// that a mistyped org fails here rather than on every request. An empty map gives an
// Authenticator that knows no token. Its errors never quote a token.
func NewStaticTokens(tokens map[string]string) (*StaticTokens, error) {
	s := &StaticTokens{}
	keys := make([]string, 0, len(tokens))
	for tok := range tokens {
		keys = append(keys, tok)
	}
	slices.Sort(keys)
	for _, tok := range keys {
		org := tokens[tok]
		if tok == "" || strings.ContainsFunc(tok, unicode.IsSpace) {
			return nil, errors.New("dnchttp: a token is empty or holds white space")
		}
		if err := dnc.ValidOrg(org); err != nil {
			return nil, fmt.Errorf("dnchttp: the org of a token: %w", err)
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(tok)))
		s.orgs = append(s.orgs, org)
	}
	return s, nil
}

// Org returns the org of token, or ErrUnknownToken.
func (s *StaticTokens) Org(_ context.Context, token string) (string, error) {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.digests {
		if subtle.ConstantTimeCompare(d[:], s.digests[i][:]) == 1 {
			found = i // no early exit: every digest is compared
		}
	}
	if found < 0 {
		return "", ErrUnknownToken
	}
	return s.orgs[found], nil
}

// Orgs returns the distinct orgs that the tokens act for, sorted.
func (s *StaticTokens) Orgs() []string {
	orgs := slices.Clone(s.orgs)
	slices.Sort(orgs)
	return slices.Compact(orgs)
}

// StaticOrgs is an OrgDirectory of a fixed set of orgs that have users. Its zero value
// knows no org. It is safe for concurrent use.
type StaticOrgs struct {
	set map[string]struct{}
}

// NewStaticOrgs returns a StaticOrgs in which exactly orgs have users. Each must be a
// valid org id ([dnc.ValidOrg]); the error names the first that is not.
func NewStaticOrgs(orgs ...string) (StaticOrgs, error) {
	s := StaticOrgs{set: make(map[string]struct{}, len(orgs))}
	for _, o := range orgs {
		if err := dnc.ValidOrg(o); err != nil {
			return StaticOrgs{}, fmt.Errorf("dnchttp: %w", err)
		}
		s.set[o] = struct{}{}
	}
	return s, nil
}

// HasUsers reports whether org is one of the orgs s was made with.
func (s StaticOrgs) HasUsers(_ context.Context, org string) (bool, error) {
	_, ok := s.set[org]
	return ok, nil
}

// ParseTokens reads "token=org" pairs separated by commas, as in the DNC_API_TOKENS
// environment variable of examples/server: "t0k3n=acme, s3cr3t=globex". White space
// around pairs, tokens and orgs is dropped, and empty pairs are skipped. A pair is split
// at its last "=", so tokens may end in base64 padding ("abc==" then "=acme") but orgs
// cannot hold "=". A pair without "=", with an empty side, a token given twice, or an
// org that is not a valid org id ([dnc.ValidOrg]) is an error; the error never quotes a
// token.
func ParseTokens(s string) (map[string]string, error) {
	tokens := make(map[string]string)
	for i, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		at := strings.LastIndexByte(pair, '=')
		if at < 0 {
			return nil, fmt.Errorf("dnchttp: token pair %d: want token=org", i+1)
		}
		tok, org := strings.TrimSpace(pair[:at]), strings.TrimSpace(pair[at+1:])
		if tok == "" || org == "" {
			return nil, fmt.Errorf("dnchttp: token pair %d: empty token or org", i+1)
		}
		if strings.ContainsFunc(tok, unicode.IsSpace) {
			return nil, fmt.Errorf("dnchttp: token pair %d: token holds white space", i+1)
		}
		if _, dup := tokens[tok]; dup {
			return nil, fmt.Errorf("dnchttp: token pair %d: token given twice", i+1)
		}
		if err := dnc.ValidOrg(org); err != nil {
			return nil, fmt.Errorf("dnchttp: token pair %d: %w", i+1, err)
		}
		tokens[tok] = org
	}
	return tokens, nil
}

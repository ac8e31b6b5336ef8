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
	"unicode/utf8"

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

// Identity is who a bearer token acts as: the org whose data it reads and changes, and
// the actor that the org's audit log records for those changes ("alice@acme"; "" for
// none).
type Identity struct {
	Org   string
	Actor string
}

// An IdentityAuthenticator is an Authenticator that also names the actor of each token.
// When the Handler's Authenticator is one, the Handler calls Identity instead of Org, and
// makes every change of the request as that actor ([dnc.WithActor]), so that the org's
// audit log (GET /api/dnc/history) says who made it. An Authenticator that is not one
// works as before: its changes are recorded with the actor "". It must be safe for
// concurrent use.
type IdentityAuthenticator interface {
	Authenticator
	// Identity returns the identity of token, or ErrUnknownToken; its Org must be what
	// Org returns for token. Any other error is a failure of the Authenticator itself,
	// answered with 500, and so is an actor that is not valid: longer than
	// dnc.MaxActorLen bytes, or holding a character that is not printable
	// (unicode.IsPrint: no control, format or invisible characters, and no white space
	// but the ASCII space).
	Identity(ctx context.Context, token string) (Identity, error)
}

// checkActor returns nil if actor may name who made a change: at most dnc.MaxActorLen
// bytes of printable text (unicode.IsPrint). That is stricter than the library, which
// refuses only control and bidirectional formatting characters: an actor that passes
// here passes there, and one that reads as another ("alice" and "alice" with a
// zero-width space) is refused. Its errors never quote the actor.
func checkActor(actor string) error {
	if len(actor) > dnc.MaxActorLen || !utf8.ValidString(actor) {
		return fmt.Errorf("%d bytes: want valid UTF-8 of at most %d bytes", len(actor), dnc.MaxActorLen)
	}
	for i, r := range actor {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%U at byte %d: want printable text", r, i)
		}
	}
	return nil
}

// An OrgDirectory says whether an org has users. The Handler answers every request of
// an org without users with 404 "No users found for this organization". It must be safe
// for concurrent use.
type OrgDirectory interface {
	// HasUsers reports whether org has users. An error is answered with 500.
	HasUsers(ctx context.Context, org string) (bool, error)
}

// StaticTokens is an IdentityAuthenticator over a fixed set of tokens. It keeps only the
// tokens' SHA-256 digests and compares a presented token's digest with every one of
// them in constant time, so neither the tokens' contents nor their lengths show in the
// time it takes. It is safe for concurrent use.
type StaticTokens struct {
	digests [][sha256.Size]byte
	ids     []Identity // ids[i] is the identity of digests[i]
}

// NewStaticTokens returns a StaticTokens that maps each token to its org, with no actor.
// Tokens must be non-empty and hold no white space; orgs must be valid org ids
// ([dnc.ValidOrg]), so that a mistyped org fails here rather than on every request. An
// empty map gives an Authenticator that knows no token. Its errors never quote a token.
func NewStaticTokens(tokens map[string]string) (*StaticTokens, error) {
	ids := make(map[string]Identity, len(tokens))
	for tok, org := range tokens {
		ids[tok] = Identity{Org: org}
	}
	return NewStaticIdentities(ids)
}

// NewStaticIdentities returns a StaticTokens that maps each token to its identity. Tokens
// and orgs are checked as by NewStaticTokens; an actor may be "" (none) or printable text
// of at most dnc.MaxActorLen bytes (see IdentityAuthenticator). Its errors never quote a
// token.
func NewStaticIdentities(ids map[string]Identity) (*StaticTokens, error) {
	s := &StaticTokens{}
	keys := make([]string, 0, len(ids))
	for tok := range ids {
		keys = append(keys, tok)
	}
	slices.Sort(keys)
	for _, tok := range keys {
		id := ids[tok]
		if tok == "" || strings.ContainsFunc(tok, unicode.IsSpace) {
			return nil, errors.New("dnchttp: a token is empty or holds white space")
		}
		if err := dnc.ValidOrg(id.Org); err != nil {
			return nil, fmt.Errorf("dnchttp: the org of a token: %w", err)
		}
		if err := checkActor(id.Actor); err != nil {
			return nil, fmt.Errorf("dnchttp: the actor of a token: %w", err)
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(tok)))
		s.ids = append(s.ids, id)
	}
	return s, nil
}

// Org returns the org of token, or ErrUnknownToken.
func (s *StaticTokens) Org(ctx context.Context, token string) (string, error) {
	id, err := s.Identity(ctx, token)
	return id.Org, err
}

// Identity returns the identity of token, or ErrUnknownToken.
func (s *StaticTokens) Identity(_ context.Context, token string) (Identity, error) {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.digests {
		if subtle.ConstantTimeCompare(d[:], s.digests[i][:]) == 1 {
			found = i // no early exit: every digest is compared
		}
	}
	if found < 0 {
		return Identity{}, ErrUnknownToken
	}
	return s.ids[found], nil
}

// Orgs returns the distinct orgs that the tokens act for, sorted.
func (s *StaticTokens) Orgs() []string {
	orgs := make([]string, len(s.ids))
	for i, id := range s.ids {
		orgs[i] = id.Org
	}
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
// token. ParseIdentities reads the same pairs, and actors too.
func ParseTokens(s string) (map[string]string, error) {
	ids, err := parseIdentities(s, false)
	if err != nil {
		return nil, err
	}
	tokens := make(map[string]string, len(ids))
	for tok, id := range ids {
		tokens[tok] = id.Org
	}
	return tokens, nil
}

// ParseIdentities reads what ParseTokens reads, in which a pair may also name the actor
// of its token after its org: "token=org (actor)", the actor in parentheses after white
// space: "t0k3n=acme (alice@acme), s3cr3t=globex". White space around the actor is
// dropped; it may hold white space and parentheses, but not "," or "=" (they separate
// pairs and tokens), and must be printable (see IdentityAuthenticator).
//
// Why this form: an org id may hold ":", "@", "/" and most other printable characters
// ([dnc.ValidOrg]), so a separator such as "token=org:actor" would give some pair that
// is valid today ("t=tenant:acme") another org (tenant) without a word. An org can
// never hold white space, so every pair valid for ParseTokens means the same here; and
// the actor must also be in parentheses, so that a mistyped org with a space in it
// ("t=acme corp") is still an error, as it is for ParseTokens, rather than org "acme".
func ParseIdentities(s string) (map[string]Identity, error) {
	return parseIdentities(s, true)
}

func parseIdentities(s string, actors bool) (map[string]Identity, error) {
	ids := make(map[string]Identity)
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
		if _, dup := ids[tok]; dup {
			return nil, fmt.Errorf("dnchttp: token pair %d: token given twice", i+1)
		}
		id := Identity{Org: org}
		if actors {
			var err error
			if id, err = splitActor(org); err != nil {
				return nil, fmt.Errorf("dnchttp: token pair %d: %w", i+1, err)
			}
		}
		if err := dnc.ValidOrg(id.Org); err != nil {
			return nil, fmt.Errorf("dnchttp: token pair %d: %w", i+1, err)
		}
		ids[tok] = id
	}
	return ids, nil
}

// splitActor splits the org side of a pair, "org (actor)", into the org and the actor.
// Without white space followed by "(" it is all org, the actor "".
func splitActor(s string) (Identity, error) {
	sp := strings.IndexFunc(s, unicode.IsSpace)
	if sp < 0 {
		return Identity{Org: s}, nil
	}
	rest := strings.TrimLeftFunc(s[sp:], unicode.IsSpace)
	if !strings.HasPrefix(rest, "(") {
		return Identity{Org: s}, nil // an org with white space: ValidOrg says so
	}
	if !strings.HasSuffix(rest, ")") {
		return Identity{}, errors.New(`want "token=org (actor)": the actor ends with ")"`)
	}
	actor := strings.TrimSpace(rest[1 : len(rest)-1])
	if actor == "" {
		return Identity{}, errors.New("empty actor in ()")
	}
	if err := checkActor(actor); err != nil {
		return Identity{}, fmt.Errorf("actor: %w", err)
	}
	return Identity{Org: s[:sp], Actor: actor}, nil
}

package dnc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dncguard/dncguard/phone"
	"github.com/dncguard/dncguard/store"
)

// MaxMetaLen is the longest Type, BatchID or RequestUUID an entry may carry, in bytes.
const MaxMetaLen = 256

// Meta is what a caller may record with a listed number.
type Meta struct {
	Type        string // classification, e.g. "customer_request", "complaint"
	BatchID     string // the campaign or batch the opt-out came from
	RequestUUID string // the call or request that produced the opt-out
	// ExpiresAt is when the entry stops blocking (rounded up to the second), judged by
	// the Redis server's clock; zero: never. It may not come sooner after the entry's
	// creation than the minimum retention of its type (WithMinRetention).
	ExpiresAt time.Time
}

// Validate returns nil if m may be stored, else an error wrapping ErrInvalidArgument
// that names the first field at fault: a field longer than MaxMetaLen bytes, not valid
// UTF-8, or holding a C0 or C1 control character, DEL (they rewrite terminals and forge
// log and CSV lines) or a bidirectional formatting character (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069: they reorder the text a person reads). The
// message never quotes the text. AddEntry calls it before anything else.
func (m Meta) Validate() error {
	for _, f := range []struct{ name, v string }{{"type", m.Type}, {"batchId", m.BatchID}, {"requestUUID", m.RequestUUID}} {
		if len(f.v) > MaxMetaLen || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s: want valid UTF-8 of at most %d bytes", ErrInvalidArgument, f.name, MaxMetaLen)
		}
		for i, r := range f.v {
			if forbidden(r) {
				return &MetaError{Field: f.name, Rune: r, At: i}
			}
		}
	}
	return nil
}

// MetaError reports a metadata field holding a character that may not be stored. It
// matches ErrInvalidArgument.
type MetaError struct {
	Field string // "type", "batchId" or "requestUUID"
	Rune  rune   // the character
	At    int    // its byte offset in the field
}

func (e *MetaError) Error() string {
	return fmt.Sprintf("%s holds the control character %U at byte %d: control and bidirectional formatting characters are not allowed", e.Field, e.Rune, e.At)
}

// Unwrap returns ErrInvalidArgument.
func (e *MetaError) Unwrap() error { return ErrInvalidArgument }

func forbidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// normalizeAll normalizes numbers in the default region and drops repeats (two formats
// of one number count once). On the first invalid number it returns a *NumberError.
func (e *Enforcer) normalizeAll(numbers []string) ([]string, error) {
	out := make([]string, 0, len(numbers))
	seen := make(map[string]struct{}, len(numbers))
	for i, raw := range numbers {
		n, err := phone.Normalize(raw, e.cfg.region)
		if err != nil {
			return nil, &NumberError{Index: i, Input: raw, Err: err}
		}
		if _, dup := seen[n]; !dup {
			seen[n] = struct{}{}
			out = append(out, n)
		}
	}
	return out, nil
}

// Add lists numbers for org, each normalized as checks normalize, and returns how many
// were not listed before (a number given twice, in any formats, counts once).
//
// It is all or nothing on input: if any number is invalid, or org is, nothing is written
// and the error (a *NumberError naming the number's index and text, or ErrInvalidOrg)
// says so. Numbers are written in atomic chunks of 32; if Redis fails part-way, the
// error wraps ErrUnavailable, added counts what was written, and adding again is safe.
func (e *Enforcer) Add(ctx context.Context, org string, numbers ...string) (added int, err error) {
	if err := validOrg(org); err != nil {
		return 0, err
	}
	if err := validActor(ctx); err != nil {
		return 0, err
	}
	ns, err := e.normalizeAll(numbers)
	if err != nil || len(ns) == 0 {
		return 0, err
	}
	entries := make([]store.Entry, len(ns))
	for i, n := range ns {
		entries[i].Number = n
	}
	flags, err := e.st.Add(ctx, org, entries, e.cfg.now())
	for _, f := range flags {
		if f {
			added++
		}
	}
	if err != nil {
		return added, unavailable(ctx, "add", err)
	}
	return added, nil
}

// AddEntry lists one number for org with its metadata and returns the new entry. If the
// number is already listed (in any format) it returns ErrExists and changes nothing,
// but for one thing: adding a number again never shortens its entry's life, so a later
// ExpiresAt (or none) replaces the entry's. Number, metadata and the audit event are
// written together, atomically, or not at all.
func (e *Enforcer) AddEntry(ctx context.Context, org, number string, meta Meta) (Entry, error) {
	if err := validOrg(org); err != nil {
		return Entry{}, err
	}
	n, err := phone.Normalize(number, e.cfg.region)
	if err != nil {
		return Entry{}, &NumberError{Input: number, Err: err}
	}
	if err := meta.Validate(); err != nil {
		return Entry{}, err
	}
	if err := validActor(ctx); err != nil {
		return Entry{}, err
	}
	now := e.cfg.now()
	if err := e.checkExpiry(meta, now); err != nil {
		return Entry{}, err
	}
	in := store.Entry{Number: n, Type: meta.Type, BatchID: meta.BatchID, RequestUUID: meta.RequestUUID, ExpiresAt: meta.ExpiresAt}
	entries := []store.Entry{in}
	flags, err := e.st.Add(ctx, org, entries, now)
	if err != nil && !(errors.Is(err, store.ErrNotReplicated) && len(flags) == 1) {
		return Entry{}, unavailable(ctx, "add entry", err)
	}
	if !flags[0] {
		return Entry{}, fmt.Errorf("%w: %s", ErrExists, n)
	}
	if err != nil {
		err = unavailable(ctx, "add entry", err) // ErrNotReplicated: the entry is written
	}
	return fromStore(entries[0]), err // with the id and creation time that were written
}

// Remove unlists numbers for org, each normalized as checks normalize, and returns how
// many were listed. Input is all or nothing, as for Add; storage is written in atomic
// chunks of 32.
func (e *Enforcer) Remove(ctx context.Context, org string, numbers ...string) (removed int, err error) {
	if err := validOrg(org); err != nil {
		return 0, err
	}
	if err := validActor(ctx); err != nil {
		return 0, err
	}
	ns, err := e.normalizeAll(numbers)
	if err != nil || len(ns) == 0 {
		return 0, err
	}
	removed, err = e.st.Remove(ctx, org, ns)
	if err != nil {
		return removed, unavailable(ctx, "remove", err)
	}
	return removed, nil
}

// Count returns how many numbers org has listed.
func (e *Enforcer) Count(ctx context.Context, org string) (int64, error) {
	if err := validOrg(org); err != nil {
		return 0, err
	}
	n, err := e.st.Count(ctx, org)
	if err != nil {
		return 0, unavailable(ctx, "count", err)
	}
	return n, nil
}

// Scan pages through org's listed numbers (E.164) with a cursor: start at 0, pass the
// returned cursor back, stop when it is 0. count is a hint of how many to return per
// call. A number listed for the whole scan is returned at least once (possibly twice);
// numbers added or removed during the scan may or may not be.
func (e *Enforcer) Scan(ctx context.Context, org string, cursor uint64, count int64) (numbers []string, next uint64, err error) {
	if err := validOrg(org); err != nil {
		return nil, 0, err
	}
	numbers, next, err = e.st.Scan(ctx, org, cursor, count)
	if err != nil {
		return nil, 0, unavailable(ctx, "scan", err)
	}
	return numbers, next, nil
}

// Entry returns the entry of number in org's list, or ErrNotFound.
func (e *Enforcer) Entry(ctx context.Context, org, number string) (Entry, error) {
	if err := validOrg(org); err != nil {
		return Entry{}, err
	}
	n, err := phone.Normalize(number, e.cfg.region)
	if err != nil {
		return Entry{}, &NumberError{Input: number, Err: err}
	}
	got, ok, err := e.st.Get(ctx, org, n)
	return found(ctx, fromStore(got), ok, err, "entry")
}

// EntryByID returns org's entry with the given id, ErrInvalidID for an id no entry
// could have, or ErrNotFound. An id of another org's entry is not found.
func (e *Enforcer) EntryByID(ctx context.Context, org, id string) (Entry, error) {
	if err := validOrg(org); err != nil {
		return Entry{}, err
	}
	if !store.ValidID(id) {
		return Entry{}, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	got, ok, err := e.st.GetByID(ctx, org, id)
	return found(ctx, fromStore(got), ok, err, "entry by id")
}

// DeleteByID unlists the number of org's entry with the given id and returns its E.164
// form; ErrInvalidID for an id no entry could have; ErrNotFound (nothing changed) when
// org has no such entry, even if another org does.
func (e *Enforcer) DeleteByID(ctx context.Context, org, id string) (string, error) {
	if err := validOrg(org); err != nil {
		return "", err
	}
	if !store.ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	if err := validActor(ctx); err != nil {
		return "", err
	}
	n, ok, err := e.st.DeleteByID(ctx, org, id)
	if err != nil && !(errors.Is(err, store.ErrNotReplicated) && ok) {
		return "", unavailable(ctx, "delete by id", err)
	}
	if !ok {
		return "", ErrNotFound
	}
	if err != nil {
		return n, unavailable(ctx, "delete by id", err) // ErrNotReplicated: it is deleted
	}
	return n, nil
}

// checkExpiry refuses an expiry the layout cannot hold (before 1970 or after 2106), or
// one sooner after now, the entry's creation, than its type's minimum retention.
func (e *Enforcer) checkExpiry(m Meta, now time.Time) error {
	if m.ExpiresAt.IsZero() {
		return nil
	}
	if m.ExpiresAt.Unix() < 1 || m.ExpiresAt.Unix() >= 1<<32-1 {
		return fmt.Errorf("%w: expiresAt %v: want a time from 1970 to 2106", ErrInvalidArgument, m.ExpiresAt)
	}
	if floor := e.cfg.minRetention[strings.ToLower(m.Type)]; floor > 0 && m.ExpiresAt.Before(now.Add(floor)) {
		return fmt.Errorf("%w: expiresAt %s is sooner than the %v an entry of type %q must be kept (WithMinRetention)",
			ErrInvalidArgument, m.ExpiresAt.UTC().Format(time.RFC3339), floor, m.Type)
	}
	return nil
}

func found(ctx context.Context, got Entry, ok bool, err error, op string) (Entry, error) {
	if err != nil {
		return Entry{}, unavailable(ctx, op, err)
	}
	if !ok {
		return Entry{}, ErrNotFound
	}
	return got, nil
}

// ListOptions selects a page of an org's entries.
type ListOptions struct {
	Offset int    // entries to pass over, >= 0
	Limit  int    // page size, 1 to 1,000
	Search string // see List; "" keeps all
}

// Page is one page of an org's entries, newest first (a search: in its order, see List),
// and how many entries match in all.
type Page struct {
	Entries []Entry
	Total   int64
}

// List returns one page of org's entries, newest first, and the exact count of entries
// (or of matches). Without Search, a page of up to 200 entries is one round trip whose
// cost does not grow with the offset (a longer page takes one per 200 entries).
//
// Search keeps the entries whose number begins with the search's digits, written in any
// format with or without the country code ("+1212", "212555", "(212) 555-12" under
// region US), or whose type, batchId or requestUUID equals the search, in any case
// (ASCII letters). Number matches come first, in number order (shorter numbers first),
// then type and batchId matches, newest first, then requestUUID matches, newest first;
// an entry is listed once. Every way is answered from an index, so a search costs the
// same on a list of a thousand numbers or ten million: one round trip for a page of
// text matches, and for number matches one short script (about a millisecond of Redis
// time) per 256 chunks of 192 to 384 numbers that they span, so only a prefix as broad
// as a country code on a list of millions takes more than one. A search fails with
// ErrSearchTooBroad only when it is digits that begin numbers and also name the type
// or batchId of more than 150 entries (a batch named "2024"): those entries are read
// one by one to list each once.
func (e *Enforcer) List(ctx context.Context, org string, o ListOptions) (Page, error) {
	if err := validOrg(org); err != nil {
		return Page{}, err
	}
	if o.Offset < 0 || o.Limit < 1 || o.Limit > store.MaxListLimit {
		return Page{}, fmt.Errorf("%w: offset %d, limit %d: want offset >= 0, limit 1 to %d", ErrInvalidArgument, o.Offset, o.Limit, store.MaxListLimit)
	}
	var (
		got   []store.Entry
		total int64
		err   error
	)
	if o.Search == "" {
		got, total, err = e.st.List(ctx, org, o.Offset, o.Limit)
		if err != nil {
			err = unavailable(ctx, "list", err)
		}
	} else {
		got, total, err = e.search(ctx, org, o)
	}
	if err != nil {
		return Page{}, err
	}
	entries := make([]Entry, len(got))
	for i, g := range got {
		entries[i] = fromStore(g)
	}
	return Page{Entries: entries, Total: total}, nil
}

func (e *Enforcer) search(ctx context.Context, org string, o ListOptions) ([]store.Entry, int64, error) {
	q := store.Query{Prefixes: e.prefixes(o.Search), Text: strings.TrimSpace(o.Search)}
	got, total, err := e.st.Search(ctx, org, q, o.Offset, o.Limit)
	if errors.Is(err, store.ErrSearchTooBroad) {
		return nil, 0, fmt.Errorf("%w: %w", ErrSearchTooBroad, err)
	}
	if err != nil {
		return nil, 0, unavailable(ctx, "list", err)
	}
	return got, total, nil
}

// prefixes returns the E.164 digit prefixes (digits without "+") that a search's
// digits may stand for: the digits themselves when the search starts with "+";
// otherwise the digits as written (with their country code) and, read in the national
// format of the default region, the country code with the digits after the national
// prefix ("(020) 7946" in GB also stands for +44 20 7946). A search holding anything
// but digits and formatting (spaces, ( ) - . /) has none.
func (e *Enforcer) prefixes(search string) []string {
	s := strings.TrimSpace(search)
	var digits strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case strings.ContainsRune(" ()-./", r):
		default:
			return nil
		}
	}
	d := digits.String()
	if d == "" || len(d) > 15 {
		return nil
	}
	if plus {
		return []string{d}
	}
	out := []string{d}
	cc := phone.CountryCode(e.cfg.region)
	national := strings.TrimPrefix(d, phone.NationalPrefix(e.cfg.region))
	if cc != "" && national != "" && !strings.HasPrefix(d, cc) {
		out = append(out, cc+national)
	}
	return out
}

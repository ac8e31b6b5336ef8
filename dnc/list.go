package dnc

import (
	"context"
	"fmt"
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
}

func (m Meta) validate() error {
	for _, f := range []struct{ name, v string }{{"type", m.Type}, {"batchId", m.BatchID}, {"requestUUID", m.RequestUUID}} {
		if len(f.v) > MaxMetaLen || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s: want valid UTF-8 of at most %d bytes", ErrInvalidArgument, f.name, MaxMetaLen)
		}
	}
	return nil
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
// says so. Numbers are written in atomic chunks of 1,000; if Redis fails part-way, the
// error wraps ErrUnavailable, added counts what was written, and adding again is safe.
func (e *Enforcer) Add(ctx context.Context, org string, numbers ...string) (added int, err error) {
	if err := validOrg(org); err != nil {
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
// number is already listed (in any format) it returns ErrExists and changes nothing.
// Number and metadata are written together, atomically, or not at all.
func (e *Enforcer) AddEntry(ctx context.Context, org, number string, meta Meta) (Entry, error) {
	if err := validOrg(org); err != nil {
		return Entry{}, err
	}
	n, err := phone.Normalize(number, e.cfg.region)
	if err != nil {
		return Entry{}, &NumberError{Input: number, Err: err}
	}
	if err := meta.validate(); err != nil {
		return Entry{}, err
	}
	now := e.cfg.now()
	in := store.Entry{Number: n, Type: meta.Type, BatchID: meta.BatchID, RequestUUID: meta.RequestUUID}
	entries := []store.Entry{in}
	flags, err := e.st.Add(ctx, org, entries, now)
	if err != nil {
		return Entry{}, unavailable(ctx, "add entry", err)
	}
	if !flags[0] {
		return Entry{}, fmt.Errorf("%w: %s", ErrExists, n)
	}
	return entries[0], nil // with the id and creation time that were written
}

// Remove unlists numbers for org, each normalized as checks normalize, and returns how
// many were listed. Input is all or nothing, as for Add; storage is written in atomic
// chunks of 1,000.
func (e *Enforcer) Remove(ctx context.Context, org string, numbers ...string) (removed int, err error) {
	if err := validOrg(org); err != nil {
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
	return found(ctx, got, ok, err, "entry")
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
	return found(ctx, got, ok, err, "entry by id")
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
	n, ok, err := e.st.DeleteByID(ctx, org, id)
	if err != nil {
		return "", unavailable(ctx, "delete by id", err)
	}
	if !ok {
		return "", ErrNotFound
	}
	return n, nil
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
	Search string // keep only entries whose number, type or request UUID contains it, any case; "" keeps all
}

// Page is one page of an org's entries, newest first, and how many entries match in all.
type Page struct {
	Entries []Entry
	Total   int64
}

// List returns one page of org's entries, newest first. Without Search it is one round
// trip whatever the list's size; with Search it reads the whole list (in chunks, never
// blocking Redis), so its cost grows with the list.
func (e *Enforcer) List(ctx context.Context, org string, o ListOptions) (Page, error) {
	if err := validOrg(org); err != nil {
		return Page{}, err
	}
	if o.Offset < 0 || o.Limit < 1 || o.Limit > 1000 {
		return Page{}, fmt.Errorf("%w: offset %d, limit %d: want offset >= 0, limit 1 to 1000", ErrInvalidArgument, o.Offset, o.Limit)
	}
	var (
		entries []Entry
		total   int64
		err     error
	)
	if o.Search == "" {
		entries, total, err = e.st.List(ctx, org, o.Offset, o.Limit)
	} else {
		entries, total, err = e.st.Search(ctx, org, o.Search, o.Offset, o.Limit)
	}
	if err != nil {
		return Page{}, unavailable(ctx, "list", err)
	}
	if entries == nil {
		entries = []Entry{}
	}
	return Page{Entries: entries, Total: total}, nil
}

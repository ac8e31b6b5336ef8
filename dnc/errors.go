package dnc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dncguard/dncguard/internal/clip"
	"github.com/dncguard/dncguard/store"
)

// Errors returned by the Enforcer, tested with errors.Is.
var (
	// ErrInvalidNumber: a number cannot be normalized to a valid E.164 number. Returned
	// (inside a *NumberError) by Check, ShouldSkip, CheckMany, CheckManyIn, Add,
	// AddEntry, Remove and Get; Redis is not touched and nothing is written.
	ErrInvalidNumber = errors.New("dnc: invalid phone number")
	// ErrInvalidOrg: an org id is empty, longer than 128 bytes, not printable UTF-8, or
	// holds white space, "{" or "}". Returned by every method that takes an org (nothing
	// is read or written) and by ValidOrg.
	ErrInvalidOrg = errors.New("dnc: invalid org id")
	// ErrUnavailable: storage failed or the context ended. It wraps the cause
	// (a go-redis error, context.DeadlineExceeded, ...). Returned by every method that
	// talks to Redis.
	ErrUnavailable = errors.New("dnc: storage unavailable")
	// ErrExists: AddEntry was asked to list a number the org has already listed (in any
	// format). Nothing is changed.
	ErrExists = errors.New("dnc: number already listed")
	// ErrNotFound: no entry with that id or number in the org. Returned by Entry,
	// EntryByID and DeleteByID.
	ErrNotFound = errors.New("dnc: entry not found")
	// ErrInvalidID: an entry id that no entry could have (ids are 24 lower-case hex
	// digits). Returned by EntryByID and DeleteByID.
	ErrInvalidID = errors.New("dnc: invalid entry id")
	// ErrInvalidArgument: an argument other than a number or an org id is out of range:
	// an option given to New (unknown region, bad key prefix, nil client or clock),
	// a region given to CheckManyIn, a paging argument of List, or metadata of AddEntry.
	ErrInvalidArgument = errors.New("dnc: invalid argument")
	// ErrCorrupt: storage holds, under one of the org's keys, data that the library did
	// not write and cannot read (an entry that is not valid JSON, say). Returned by
	// Entry, EntryByID and List; a check of a listed number with a corrupt entry still
	// answers listed.
	ErrCorrupt = errors.New("dnc: unreadable data in storage")
	// ErrSchema: the org's data in Redis is of another storage layout version than this
	// library reads (an older release's, say). Nothing is read or written; a check
	// answers skip. Returned, with ErrUnavailable, by every method that talks to Redis.
	ErrSchema = errors.New("dnc: stored data of another layout version")
	// ErrNotReplicated: under WithWriteReplicas, a write is done but fewer replicas than
	// asked acknowledged it in time. Returned by Add, AddEntry, Remove, DeleteByID and
	// SetEnabled, with their usual results (the entry, the counts).
	ErrNotReplicated = errors.New("dnc: write not acknowledged by enough replicas")
	// ErrStateLost: an org's data in Redis is gone, or is of another generation, since
	// this Enforcer last saw it (a Redis restart without persistence, a flush, a
	// failover to an empty replica). Checks of the org answer skip with it, wrapped with
	// ErrUnavailable, even under WithFailOpen, until the data comes back or
	// AcceptState(org) is called. The Observer sees it with each decision.
	ErrStateLost = errors.New("dnc: the org's stored state was lost")
	// ErrSearchTooBroad: List was asked to search by a text that names more entries
	// than one request sorts (see List). It matches ErrInvalidArgument.
	ErrSearchTooBroad = fmt.Errorf("%w: search too broad", ErrInvalidArgument)
)

// NumberError reports a number that could not be normalized. It matches
// ErrInvalidNumber and the phone package's cause with errors.Is.
type NumberError struct {
	Index int    // position of the number in the call's list of numbers (0 for one number)
	Input string // the number as given (Error quotes at most its first 64 characters)
	Err   error  // the cause, from package phone
}

func (e *NumberError) Error() string {
	return fmt.Sprintf("%v: number %d %s: %v", ErrInvalidNumber, e.Index, clip.Quote(e.Input), e.Err)
}

// Unwrap returns ErrInvalidNumber and the cause.
func (e *NumberError) Unwrap() []error { return []error{ErrInvalidNumber, e.Err} }

// unavailable wraps a storage failure: ErrCorrupt for data it cannot read, else
// ErrUnavailable. When ctx has ended, the error also matches
// ctx.Err() (context.DeadlineExceeded or context.Canceled), whatever form the cause took
// (go-redis reports a deadline it enforced on the socket as an i/o timeout).
func unavailable(ctx context.Context, op string, err error) error {
	if errors.Is(err, store.ErrBadReply) {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, op, err)
	}
	if errors.Is(err, store.ErrNotReplicated) {
		return fmt.Errorf("%w: %s: %w", ErrNotReplicated, op, err)
	}
	if errors.Is(err, store.ErrSchema) {
		return fmt.Errorf("%w: %w: %s: %w", ErrUnavailable, ErrSchema, op, err)
	}
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // the socket deadline fired a moment before the context's timer
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %s: %w: %w", ErrUnavailable, op, cerr, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

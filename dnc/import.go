package dnc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dncguard/dncguard/internal/rows"
	"github.com/dncguard/dncguard/phone"
	"github.com/dncguard/dncguard/store"
)

// File import, export and scrubbing: the formats read are those of package
// internal/rows (one number a line; CSV, TSV or ";"-separated with a header; the FTC
// registry's area code and number pairs; gzip; byte order mark; CRLF; "#" comments).

// ImportOptions say how to read a file and what to do with its numbers.
type ImportOptions struct {
	// Column is the phone column of a delimited file: a header name (any case) or a
	// 1-based index. Empty: the header's column named phone, phone_number, number,
	// telephone, tel, mobile, cell, msisdn or e164, or, in a file without a header, the
	// one column holding numbers.
	Column string
	// Region reads numbers written without a country code (ISO 3166-1 alpha-2); empty:
	// the Enforcer's default region. Rows of the FTC layout are always read as US.
	Region string
	// Meta is the metadata of rows whose file has no type, batchId or requestUUID
	// column, or an empty cell there. Its ExpiresAt applies to every row added that has
	// no expiresAt of its own (a column named expiresAt, RFC 3339; a cell that is not
	// is a bad row); a row whose type has a minimum retention longer than its expiry is a
	// bad row.
	Meta Meta
	// Delete removes the file's numbers instead of listing them. A column named action
	// ("add" or "delete", any case; empty: as Delete says) decides row by row.
	Delete bool
	// Chunk is how many rows are written together (default 10,000, at most 100,000).
	Chunk int
	// Progress, when set, is called after each chunk is written with the report so far,
	// on Import's goroutine.
	Progress func(ImportReport)
	// MaxRowErrors is how many invalid rows the report lists (default 100; the rest
	// are counted).
	MaxRowErrors int
}

// ImportReport counts what an import did.
type ImportReport struct {
	Rows       int64 // data rows read (not blank lines, comments or the header)
	Added      int64 // numbers listed by the import
	Existing   int64 // add rows whose number was listed before the import: left as it was
	Removed    int64 // numbers unlisted
	NotListed  int64 // delete rows whose number was not listed (or no longer: deleted by an earlier row)
	Invalid    int64 // rows not applied: unreadable, an invalid number or metadata, an unknown action
	Duplicates int64 // add rows whose number an earlier row of the import listed
	// Line is the last line of the input whose row, and every row before it, has been
	// applied: an import that stopped may be run again (it changes nothing it did) or
	// resumed after this line.
	Line   int64
	Errors []RowError // the first MaxRowErrors invalid rows
}

// RowError is an invalid row of an imported or scrubbed file.
type RowError struct {
	Line int64  // the row's line number, from 1
	Text string // the row, cut to 100 characters, control characters escaped
	Err  error  // why: a *NumberError, a *MetaError, or an error saying what is unreadable
}

func (r RowError) Error() string { return fmt.Sprintf("line %d: %s: %v", r.Line, r.Text, r.Err) }

// ImportChunkTimeout bounds how long Import goes on writing a chunk after its context
// ends (see Import).
const ImportChunkTimeout = time.Minute

// errAction: an action cell that is neither add nor delete.
var errAction = errors.New(`action must be "add" or "delete"`)
var errExpiresAt = errors.New("expiresAt must be an RFC 3339 time with a time zone, such as 2031-01-02T15:04:05Z")

// Import reads a list of numbers from r and lists them for org (or unlists them: see
// ImportOptions.Delete), in chunks, each normalized as checks normalize and written
// with its metadata as Add and AddEntry write. Memory does not grow with the input.
//
// An invalid row never stops the import: it is counted and reported (Errors) and the
// rest is applied. Rows apply in order, as if one at a time: a number's first add
// lists it with that row's metadata, later adds of it count as Duplicates (listed by
// this import) or Existing (listed before it) and change nothing; a number added,
// deleted and added again ends listed. The counts do not depend on the chunk size.
// Running an import of adds again changes nothing and counts every add row as
// Existing; a change list run again applies its deletes (and the adds after them) again.
//
// It returns an error (and the report so far, whose Line says how far it got) when the
// org id, the options or the file's header are invalid (nothing is written), when
// Redis fails (ErrUnavailable), when r fails, or when ctx ends: Import looks at ctx
// between chunks, and finishes the chunk it is writing first (for at most
// ImportChunkTimeout), so that the report counts exactly what was written. After an
// early return, the goroutine that reads r may still be in a Read call; it returns
// when that call does.
func (e *Enforcer) Import(ctx context.Context, org string, r io.Reader, o ImportOptions) (ImportReport, error) {
	var rep ImportReport
	if err := validOrg(org); err != nil {
		return rep, err
	}
	if err := o.Meta.Validate(); err != nil {
		return rep, err
	}
	if err := validActor(ctx); err != nil {
		return rep, err
	}
	if err := e.checkExpiry(o.Meta, e.cfg.now()); err != nil {
		return rep, err
	}
	ctx = store.WithAction(ctx, ActionImport)
	rd, region, err := e.openFile(r, o.Column, o.Region, &o.Chunk, &o.MaxRowErrors)
	if err != nil {
		return rep, err
	}
	im := importer{e: e, org: org, rep: &rep, maxErrs: o.MaxRowErrors}
	chunks, stop := readChunks(rd, o.Chunk, func(row rows.Row) (importRow, error) {
		r, err := parseImportRow(row, region, o)
		if err == nil && !r.del {
			err = e.checkExpiry(r.meta, e.cfg.now()) // the row's type may have a minimum retention
		}
		return r, err
	})
	defer stop()
	for {
		c, ok, err := nextChunk(ctx, chunks)
		if err != nil {
			return rep, fmt.Errorf("%w: import stopped after line %d: %w", ErrUnavailable, rep.Line, err)
		}
		if !ok {
			return rep, nil
		}
		rep.Rows += int64(len(c.rows) + len(c.bad))
		for _, bad := range c.bad {
			im.invalid(bad)
		}
		if err := im.apply(ctx, c.rows); err != nil {
			return rep, err
		}
		rep.Line = c.last
		if o.Progress != nil {
			o.Progress(rep)
		}
		if c.err != nil {
			return rep, fmt.Errorf("dnc: import: reading the input after line %d: %w", rep.Line, c.err)
		}
	}
}

// openFile checks the options Import and Scrub share, filling in the defaults of chunk
// (10,000) and maxErrs (100), and reads the layout of r: it returns the rows and the
// region to read national numbers in (the given one, the Enforcer's default, or US for
// the FTC layout).
func (e *Enforcer) openFile(r io.Reader, column, region string, chunk, maxErrs *int) (*rows.Reader, string, error) {
	if region == "" {
		region = e.cfg.region
	} else {
		rc, err := phone.Region(region)
		if err != nil {
			return nil, "", fmt.Errorf("%w: region: %w", ErrInvalidArgument, err)
		}
		region = rc
	}
	if *chunk == 0 {
		*chunk = 10_000
	}
	if *chunk < 1 || *chunk > 100_000 {
		return nil, "", fmt.Errorf("%w: chunk %d: 1 to 100,000", ErrInvalidArgument, *chunk)
	}
	if *maxErrs == 0 {
		*maxErrs = 100
	}
	rd, err := rows.NewReader(r, rows.Options{Column: column})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if rd.Layout() == rows.Pairs {
		region = "US"
	}
	return rd, region, nil
}

type importRow struct {
	line   int64
	number string // E.164
	meta   Meta
	del    bool
}

func parseImportRow(row rows.Row, region string, o ImportOptions) (importRow, error) {
	if row.Err != nil {
		return importRow{}, row.Err
	}
	n, err := phone.Normalize(row.Number, region)
	if err != nil {
		return importRow{}, &NumberError{Input: row.Number, Err: err}
	}
	m := Meta{Type: cmp.Or(row.Type, o.Meta.Type), BatchID: cmp.Or(row.BatchID, o.Meta.BatchID), RequestUUID: cmp.Or(row.RequestUUID, o.Meta.RequestUUID), ExpiresAt: o.Meta.ExpiresAt}
	if x := strings.TrimSpace(row.ExpiresAt); x != "" {
		t, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return importRow{}, errExpiresAt
		}
		m.ExpiresAt = t
	}
	if err := m.Validate(); err != nil {
		return importRow{}, err
	}
	del := o.Delete
	switch strings.ToLower(row.Action) {
	case "":
	case "add":
		del = false
	case "delete", "remove":
		del = true
	default:
		return importRow{}, errAction
	}
	return importRow{line: row.Line, number: n, meta: m, del: del}, nil
}

// chunk is a run of parsed rows, with the rows that were invalid among them.
type chunk[T any] struct {
	rows []T
	bad  []RowError
	last int64 // the last line read for this chunk (or before it, when it has no row)
	err  error // the input failed after this chunk
}

// readChunks reads rows on a goroutine of its own, n rows a chunk, so that the
// next chunk is read and normalized while the current one is written. stop ends it: at
// once if it is waiting to hand over a chunk, else when its read of the input returns.
func readChunks[T any](rd *rows.Reader, n int, parse func(rows.Row) (T, error)) (<-chan chunk[T], func()) {
	out := make(chan chunk[T], 1)
	quit := make(chan struct{})
	go func() {
		defer close(out)
		last := int64(0)
		for {
			c, read := chunk[T]{rows: make([]T, 0, n), last: last}, 0
			for read < n { // n rows, valid or not: memory stays bounded whatever the input
				row, err := rd.Next()
				if err != nil {
					if err != io.EOF {
						c.err = err
					}
					break
				}
				read++
				c.last = row.Line
				v, err := parse(row)
				if err != nil {
					c.bad = append(c.bad, RowError{Line: row.Line, Text: rowText(row.Raw), Err: err})
					continue
				}
				c.rows = append(c.rows, v)
			}
			if read == 0 && c.err == nil {
				return // the end
			}
			last = c.last
			select {
			case out <- c:
			case <-quit:
				return
			}
			if c.err != nil || read < n {
				return
			}
		}
	}()
	return out, func() { close(quit) }
}

// nextChunk waits for the next chunk (ok false after the last), or for ctx to end.
func nextChunk[T any](ctx context.Context, chunks <-chan chunk[T]) (c chunk[T], ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return c, false, err
	}
	select {
	case c, ok = <-chunks:
		return c, ok, nil
	case <-ctx.Done():
		return c, false, ctx.Err()
	}
}

// rowText is a row as an error shows it: at most 100 characters, control characters
// and invalid UTF-8 escaped.
func rowText(raw []byte) string {
	s := string(raw)
	cut := false
	if utf8.RuneCountInString(s) > 100 {
		n := 0
		for i := range s {
			if n == 100 {
				s, cut = s[:i], true
				break
			}
			n++
		}
	}
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if cut {
		q += "..."
	}
	return q
}

type importer struct {
	e       *Enforcer
	org     string
	rep     *ImportReport
	maxErrs int
	ours    []seqRange // the sequence numbers this import's adds were given
}

type seqRange struct{ lo, hi uint64 }

func (im *importer) invalid(bad RowError) {
	im.rep.Invalid++
	if len(im.rep.Errors) < im.maxErrs {
		im.rep.Errors = append(im.rep.Errors, bad)
	}
}

// apply writes a chunk's rows in order: the adds and the deletes of distinct numbers
// together, cut where a number is added after being deleted (or the reverse). A row
// repeating a pending row of its number and action is counted with it.
func (im *importer) apply(ctx context.Context, rs []importRow) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ImportChunkTimeout)
	defer cancel()
	type slot struct {
		del bool
		i   int // in adds
	}
	pending := make(map[string]slot, len(rs))
	var adds []store.Entry
	var repeats []int64 // of each add
	var dels []string
	flush := func() error {
		if err := im.add(wctx, adds, repeats); err != nil {
			return err
		}
		if len(dels) > 0 {
			n, err := im.e.st.Remove(wctx, im.org, dels)
			im.rep.Removed += int64(n)
			if err != nil {
				return unavailable(ctx, "import", err)
			}
			im.rep.NotListed += int64(len(dels) - n)
		}
		clear(pending)
		adds, repeats, dels = adds[:0], repeats[:0], dels[:0]
		return nil
	}
	for _, r := range rs {
		if s, seen := pending[r.number]; seen {
			if s.del == r.del {
				if r.del {
					im.rep.NotListed++ // deleted by the row before
				} else {
					repeats[s.i]++
				}
				continue
			}
			if err := flush(); err != nil {
				return err
			}
		}
		if r.del {
			pending[r.number] = slot{del: true}
			dels = append(dels, r.number)
		} else {
			pending[r.number] = slot{i: len(adds)}
			adds = append(adds, store.Entry{Number: r.number, Type: r.meta.Type, BatchID: r.meta.BatchID, RequestUUID: r.meta.RequestUUID, ExpiresAt: r.meta.ExpiresAt})
			repeats = append(repeats, 0)
		}
	}
	return flush()
}

// add lists entries (distinct numbers) and counts them with the rows that repeat
// them: a number listed already is a duplicate when this import listed it (its
// sequence number is one the import's adds were given), else it was there before.
func (im *importer) add(ctx context.Context, entries []store.Entry, repeats []int64) error {
	if len(entries) == 0 {
		return nil
	}
	added, err := im.e.st.Add(ctx, im.org, entries, im.e.cfg.now())
	for i, ok := range added {
		if ok {
			im.rep.Added++
			im.rep.Duplicates += repeats[i]
			im.ours = addSeq(im.ours, entries[i].Seq)
		}
	}
	for i, ok := range added {
		if !ok {
			if im.isOurs(entries[i].Seq) {
				im.rep.Duplicates += 1 + repeats[i]
			} else {
				im.rep.Existing += 1 + repeats[i]
			}
		}
	}
	if err != nil {
		return unavailable(ctx, "import", err)
	}
	return nil
}

// addSeq records seq in rs, sorted ranges. Sequence numbers usually come in rising
// order (then this appends or widens the last range), but not always: a pipeline that
// meets NOSCRIPT sends some of its scripts again, after others ran.
func addSeq(rs []seqRange, seq uint64) []seqRange {
	n := len(rs)
	if n > 0 && rs[n-1].hi+1 == seq {
		rs[n-1].hi = seq
		return rs
	}
	if n == 0 || rs[n-1].hi < seq {
		return append(rs, seqRange{seq, seq})
	}
	i, _ := slices.BinarySearchFunc(rs, seq, func(r seqRange, s uint64) int { return cmp.Compare(r.lo, s) })
	if i > 0 && rs[i-1].hi >= seq {
		return rs // recorded already
	}
	return slices.Insert(rs, i, seqRange{seq, seq})
}

func (im *importer) isOurs(seq uint64) bool {
	// the first range that ends at or after seq, if it starts at or before it
	i, _ := slices.BinarySearchFunc(im.ours, seq, func(r seqRange, s uint64) int { return cmp.Compare(r.hi, s) })
	return i < len(im.ours) && im.ours[i].lo <= seq
}

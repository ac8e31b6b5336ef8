package dnc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dncguard/dncguard/internal/rows"
	"github.com/dncguard/dncguard/phone"
)

// ScrubOptions say how to read a call list.
type ScrubOptions struct {
	Column string // the phone column, as ImportOptions.Column
	Region string // the region of numbers written without a country code; "" the default
	Chunk  int    // rows checked together (default 10,000, at most 100,000)
	// Progress, when set, is called after each chunk with the report so far.
	Progress     func(ScrubReport)
	MaxRowErrors int // how many invalid rows the report lists (default 100)
}

// ScrubReport counts what a scrub did.
type ScrubReport struct {
	Rows     int64 // data rows read
	Dialable int64 // rows written to the dialable output
	Skipped  int64 // rows written to the skipped output: Listed + Invalid
	Listed   int64 // skipped because the org lists the number
	Invalid  int64 // skipped because the row is unreadable or its number is invalid
	// Disabled: DNC was switched off for the org when (part of) the list was checked,
	// so no row of that part was skipped as listed.
	Disabled bool
	Line     int64      // the last input line whose row has been written out
	Errors   []RowError // the first MaxRowErrors invalid rows
}

// Skip reasons written in the dnc_reason column of Scrub's skipped output.
const (
	ScrubListed        = "listed"         // the org lists the number
	ScrubInvalidNumber = "invalid_number" // the number is not a valid phone number
	ScrubInvalidRow    = "invalid_row"    // the row cannot be read (an unbalanced quote, too few columns)
)

type scrubRow struct {
	line   int64
	raw    []byte
	number string
	fields int // how many fields the row has
	err    error
}

// Scrub reads a call list from r and checks every row's number against org's list as
// CheckManyIn does (the same batch path as the HTTP batch check), a chunk at a time
// while the next chunk is read. It writes the rows that may be dialed to dialable and
// the others to skipped (nil: dropped) with a dnc_reason column added (listed,
// invalid_number, invalid_row), each row as it was read, in input order, with all its
// columns; a file with a header gets the header in both outputs. In the skipped output
// a row with fewer fields than the header is padded so that dnc_reason stays in its
// column, and a row that cannot be read goes as one quoted field. Memory does not grow
// with the input.
//
// Scrub fails closed: when Redis fails, the state marker says the org's data was lost
// or ctx ends, it stops and returns the error with the report so far (Line says how
// far the outputs go); the outputs then hold only rows that were checked, and must not
// be taken for the whole list. After an early return, the goroutine that reads r may
// still be in a Read call; it returns when that call does.
func (e *Enforcer) Scrub(ctx context.Context, org string, r io.Reader, dialable, skipped io.Writer, o ScrubOptions) (ScrubReport, error) {
	var rep ScrubReport
	if err := validOrg(org); err != nil {
		return rep, err
	}
	rd, region, err := e.openFile(r, o.Column, o.Region, &o.Chunk, &o.MaxRowErrors)
	if err != nil {
		return rep, err
	}
	if skipped == nil {
		skipped = io.Discard
	}
	delim := rd.Delimiter()
	if delim == 0 {
		delim = ','
	}
	dw, sw := bufio.NewWriterSize(dialable, 64<<10), bufio.NewWriterSize(skipped, 64<<10)
	if h := rd.Header(); h != nil {
		_, _ = dw.Write(h)
		_ = dw.WriteByte('\n')
		_, _ = sw.Write(h)
		_ = sw.WriteByte(delim)
		_, _ = sw.WriteString("dnc_reason\n")
	}
	lone, width := rd.Layout() == rows.Lines, rd.HeaderFields()
	chunks, stop := readChunks(rd, o.Chunk, func(row rows.Row) (scrubRow, error) {
		return scrubRow{line: row.Line, raw: bytes.Clone(row.Raw), number: row.Number, fields: row.Fields, err: row.Err}, nil
	})
	defer stop()
	numbers := make([]string, 0, o.Chunk)
	for {
		c, ok, err := nextChunk(ctx, chunks)
		if err != nil {
			return rep, fmt.Errorf("%w: scrub stopped after line %d: %w", ErrUnavailable, rep.Line, err)
		}
		if !ok {
			return rep, nil
		}
		numbers = numbers[:0]
		for _, r := range c.rows {
			if r.err == nil {
				numbers = append(numbers, r.number)
			}
		}
		ds, err := e.observeMany(ctx, org, region, numbers)
		for _, d := range ds {
			if d.Reason == ReasonUnavailable || d.Reason == ReasonInvalidOrg {
				return rep, err // nothing of this chunk is written
			}
		}
		j := 0
		for _, r := range c.rows {
			rep.Rows++
			reason := ""
			switch {
			case r.err != nil:
				reason = ScrubInvalidRow
			default:
				d := ds[j]
				j++
				switch d.Reason {
				case ReasonListed:
					reason = ScrubListed
				case ReasonInvalidNumber:
					reason = ScrubInvalidNumber
					if len(rep.Errors) < o.MaxRowErrors {
						_, perr := phone.Normalize(r.number, region) // why, for the report
						r.err = &NumberError{Input: r.number, Err: perr}
					}
				case ReasonDisabled:
					rep.Disabled = true
				case ReasonNotListed:
				default:
					return rep, fmt.Errorf("dnc: scrub: decision %q", d.Reason)
				}
			}
			if reason == "" {
				rep.Dialable++
				_, _ = dw.Write(r.raw)
				_ = dw.WriteByte('\n')
				continue
			}
			rep.Skipped++
			if reason == ScrubListed {
				rep.Listed++
			} else {
				rep.Invalid++
				if len(rep.Errors) < o.MaxRowErrors {
					rep.Errors = append(rep.Errors, RowError{Line: r.line, Text: rowText(r.raw), Err: r.err})
				}
			}
			// The row as read, then dnc_reason in the header's next column. A row that
			// cannot be read (an unbalanced quote), or a lone number holding the
			// separator, goes as one quoted field, so the output stays well-formed.
			nf := r.fields
			if reason == ScrubInvalidRow || (lone && bytes.ContainsAny(r.raw, `,"`)) {
				_, _ = sw.WriteString(`"` + strings.ReplaceAll(string(r.raw), `"`, `""`) + `"`)
				nf = 1
			} else {
				_, _ = sw.Write(r.raw)
			}
			for ; nf < width; nf++ {
				_ = sw.WriteByte(delim)
			}
			_ = sw.WriteByte(delim)
			_, _ = sw.WriteString(reason)
			_ = sw.WriteByte('\n')
		}
		if err := dw.Flush(); err != nil {
			return rep, fmt.Errorf("dnc: scrub: writing the dialable rows: %w", err)
		}
		if err := sw.Flush(); err != nil {
			return rep, fmt.Errorf("dnc: scrub: writing the skipped rows: %w", err)
		}
		rep.Line = c.last
		if o.Progress != nil {
			o.Progress(rep)
		}
		if c.err != nil {
			return rep, fmt.Errorf("dnc: scrub: reading the input after line %d: %w", rep.Line, c.err)
		}
	}
}

// Package rows reads the files DNC lists and call lists arrive in, a row at a time:
// one number a line; CSV, TSV or semicolon-separated files with a header; and the FTC
// registry download (area code and number pairs). Input may be gzip-compressed and may
// start with a UTF-8 byte order mark; lines end in LF or CRLF; blank lines and lines
// starting with "#" are skipped.
//
// A row that cannot be read (an unbalanced quote, too few columns, a line over
// MaxLine bytes) comes back with Row.Err set and the reader goes on with the next
// line: one bad row never stops a file. Quoted fields may not span lines. "#" starts a
// comment before a file's first data line and anywhere in a file of one number a line;
// in a delimited or FTC file, once its data has begun, a line starting with "#" is a
// row (an id may start with "#"), so that no row is dropped unseen.
package rows

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxLine is the longest line read; a longer one is a bad row.
const MaxLine = 64 << 10

// Layout is how a file lays out its rows.
type Layout int

const (
	Lines     Layout = iota // one number a line (an optional header line names it)
	Delimited               // CSV, TSV or ";"-separated, with or without a header
	Pairs                   // the FTC registry layout: area code, 7-digit number
)

func (l Layout) String() string {
	return [...]string{"lines", "delimited", "pairs"}[l]
}

// Options tell a Reader what it cannot guess.
type Options struct {
	// Column is the phone column of a delimited file: a header name (any case) or a
	// 1-based index. Empty: the header's phone column (phone, number, telephone, ...),
	// or, without a header, the one column whose first value holds 7 digits or more.
	Column string
}

// Row is one data row.
type Row struct {
	Line   int64  // its line number, from 1
	Raw    []byte // the line as read, without its line end; valid until the next Next
	Number string // the phone column's text (Pairs: area code and number joined)
	// From columns named type, batchId, requestUUID, action and expiresAt (any case,
	// "_" and "-" ignored), when the file has them.
	Type, BatchID, RequestUUID, Action, ExpiresAt string
	Fields                                        int   // how many fields the row has (1 in the lines layout)
	Err                                           error // the row cannot be read; the fields above are empty
}

// Reader reads rows.
type Reader struct {
	br     *bufio.Reader
	line   int64
	layout Layout
	delim  byte
	header []byte // the header line, nil when there is none
	names  []string
	col    int // the phone column's index
	meta   [5]int
	first  *pending // the first data line, read while guessing the layout
	spans  []span
	done   bool
	// started: the layout is known and past its header: from then on, in a delimited
	// or FTC file, a line starting with "#" is a row, not a comment.
	started      bool
	headerFields int // how many fields the header has (0: none)
}

type pending struct {
	line int64
	raw  []byte
	err  error
}

type span struct {
	lo, hi int
	quoted bool // holds "" to unescape
}

// ErrNoColumn: the reader cannot tell which column holds the numbers.
var ErrNoColumn = errors.New("rows: no phone column")

var (
	errQuote   = errors.New("unbalanced quote")
	errTooLong = fmt.Errorf("line longer than %d bytes", MaxLine)
	errColumns = errors.New("too few columns")
	errPair    = errors.New("not an area code and a 7-digit number")
	phoneNames = []string{"phone", "phonenumber", "number", "telephone", "tel", "mobile", "cell", "msisdn", "e164", "phoneno"}
	metaNames  = [5][]string{{"type"}, {"batchid", "batch"}, {"requestuuid", "requestid"}, {"action"}, {"expiresat", "expires", "expiry"}}
)

// NewReader reads the layout from r's first data line (and gzip and byte order mark
// from its first bytes). It fails when the input cannot be read or the phone column
// cannot be told, before returning any row.
func NewReader(r io.Reader, o Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, MaxLine)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("rows: gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, MaxLine)
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	rd := &Reader{br: br, col: -1, meta: [5]int{-1, -1, -1, -1, -1}}
	defer func() { rd.started = true }()
	p, err := rd.nextData()
	if err == io.EOF {
		rd.done = true
		return rd, nil
	}
	if err != nil {
		return nil, err
	}
	if p.err != nil { // a first line too long to read: one number a line, that row bad
		rd.first = p
		return rd, nil
	}
	return rd, rd.guess(p, o)
}

// Layout returns the file's layout.
func (r *Reader) Layout() Layout { return r.layout }

// Delimiter returns the delimited file's field separator, 0 for other layouts.
func (r *Reader) Delimiter() byte { return r.delim }

// Header returns the header line, nil when the file has none.
func (r *Reader) Header() []byte { return r.header }

// HeaderFields returns how many fields the header has, 0 when there is none.
func (r *Reader) HeaderFields() int { return r.headerFields }

// Line returns the number of lines read so far.
func (r *Reader) Line() int64 { return r.line }

func (r *Reader) guess(p *pending, o Options) error {
	line := p.raw
	switch {
	case bytes.IndexByte(line, '\t') >= 0:
		r.delim = '\t'
	case bytes.IndexByte(line, ',') >= 0:
		r.delim = ','
	case bytes.IndexByte(line, ';') >= 0:
		r.delim = ';'
	}
	if r.delim == 0 {
		r.layout = Lines
		name := string(trimQuotes(line))
		if isName(name, phoneNames) || (o.Column != "" && fold(o.Column) == fold(name)) {
			r.header, r.headerFields = bytes.Clone(line), 1
			if o.Column != "" && o.Column != "1" && fold(o.Column) != fold(name) {
				return fmt.Errorf("%w: no column %q: the file has one, %q", ErrNoColumn, o.Column, name)
			}
			return nil
		}
		if o.Column != "" && o.Column != "1" {
			return fmt.Errorf("%w: the file has one column and no header; -column %q names none", ErrNoColumn, o.Column)
		}
		r.first = p
		return nil
	}
	r.layout = Delimited
	fields, err := r.fields(line)
	if err != nil {
		return fmt.Errorf("rows: line %d, the first: %w", p.line, err)
	}
	headed := true
	for _, f := range fields {
		if digitCount(f) >= 7 {
			headed = false
		}
	}
	if _, err := strconv.Atoi(o.Column); indexOf(fields, phoneNames) >= 0 || (o.Column != "" && err != nil && indexOf(fields, []string{fold(o.Column)}) >= 0) {
		headed = true // a phone column's name, whatever digits other names hold
	}
	if !headed && o.Column == "" && len(fields) == 2 && allDigits(fields[0], 3) && allDigits(fields[1], 7) {
		r.layout, r.col = Pairs, 0
		r.first = p
		return nil
	}
	if headed {
		r.header, r.headerFields = bytes.Clone(line), len(fields)
		r.names = fields
		for i, names := range metaNames {
			r.meta[i] = indexOf(fields, names)
		}
	} else {
		r.first = p
	}
	switch n, err := strconv.Atoi(o.Column); {
	case o.Column == "" && headed:
		if r.col = indexOf(fields, phoneNames); r.col < 0 && len(fields) == 1 {
			r.col = 0
		}
		if r.col < 0 {
			return fmt.Errorf("%w among the header's %s: say which with -column NAME or -column N", ErrNoColumn, quoteAll(fields))
		}
	case o.Column == "":
		for i, f := range fields {
			if digitCount(f) >= 7 {
				if r.col >= 0 {
					return fmt.Errorf("%w: columns %d and %d both hold numbers and there is no header: say which with -column N", ErrNoColumn, r.col+1, i+1)
				}
				r.col = i
			}
		}
	case err == nil:
		if n < 1 || n > len(fields) {
			return fmt.Errorf("%w: column %d of %d", ErrNoColumn, n, len(fields))
		}
		r.col = n - 1
	case headed:
		if r.col = indexOf(fields, []string{fold(o.Column)}); r.col < 0 {
			return fmt.Errorf("%w: no column %q among the header's %s", ErrNoColumn, o.Column, quoteAll(fields))
		}
	default:
		return fmt.Errorf("%w: the file has no header to find column %q in: give its number", ErrNoColumn, o.Column)
	}
	return nil
}

// Next returns the next data row, or io.EOF after the last. Any other error is the
// input's (a read or gzip failure): the file cannot be read further.
func (r *Reader) Next() (Row, error) {
	var p *pending
	if r.first != nil {
		p, r.first = r.first, nil
	} else if r.done {
		return Row{}, io.EOF
	} else {
		var err error
		if p, err = r.nextData(); err != nil {
			if err == io.EOF {
				r.done = true
			}
			return Row{}, err
		}
	}
	row := Row{Line: p.line, Raw: p.raw, Err: p.err}
	if row.Err != nil {
		return row, nil
	}
	if r.layout == Lines {
		row.Number, row.Fields = string(trimQuotes(p.raw)), 1
		return row, nil
	}
	fields, err := r.fields(p.raw)
	if err == nil && r.col >= len(fields) {
		err = fmt.Errorf("%w: %d, the phone column is %d", errColumns, len(fields), r.col+1)
	}
	if err != nil {
		row.Err = err
		return row, nil
	}
	row.Fields = len(fields)
	if r.layout == Pairs {
		if len(fields) != 2 || !allDigits(fields[0], 3) || !allDigits(fields[1], 7) {
			row.Err = errPair
		} else {
			row.Number = fields[0] + fields[1]
		}
		return row, nil
	}
	row.Number = fields[r.col]
	dst := [5]*string{&row.Type, &row.BatchID, &row.RequestUUID, &row.Action, &row.ExpiresAt}
	for i, c := range r.meta {
		if c >= 0 && c < len(fields) {
			*dst[i] = fields[c]
		}
	}
	return row, nil
}

// nextData reads up to the next line that is neither blank nor a comment.
func (r *Reader) nextData() (*pending, error) {
	for {
		line, err := r.br.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			if err != bufio.ErrBufferFull {
				return nil, fmt.Errorf("rows: after line %d: %w", r.line, err)
			}
		}
		r.line++
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull { // skip the rest of the line
				_, err = r.br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("rows: line %d: %w", r.line, err)
			}
			return &pending{line: r.line, raw: nil, err: errTooLong}, nil
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("rows: line %d: %w", r.line, err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if skip(line, r.delim, r.layout == Lines || !r.started) {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue
		}
		return &pending{line: r.line, raw: line}, nil
	}
}

// skip: a blank line (white space and separators only) or, where comments may be, a
// comment: "#" after white space only. In a delimited file, once its data has begun, a
// line starting with "#" is a row like any other (an id column may start with "#").
func skip(line []byte, delim byte, comments bool) bool {
	for i, c := range line {
		switch {
		case c == '#' && comments && (delim == 0 || bytes.IndexByte(line[:i], delim) < 0):
			return true
		case c == ' ' || c == '\t' || c == '\r' || (delim != 0 && c == delim):
		default:
			return false
		}
	}
	return true
}

// fields splits a delimited line, a field quoted with " ("" inside for a quote) or not;
// white space around a field is dropped.
func (r *Reader) fields(line []byte) ([]string, error) {
	r.spans = r.spans[:0]
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i < len(line) && line[i] == '"' {
			lo, quoted := i+1, false
			j := lo
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return nil, errQuote
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					quoted, j = true, j+2
					continue
				}
				break
			}
			r.spans = append(r.spans, span{lo, j, quoted})
			i = j + 1
			for i < len(line) && line[i] == ' ' {
				i++
			}
			if i < len(line) && line[i] != r.delim {
				return nil, errQuote
			}
		} else {
			k := bytes.IndexByte(line[i:], r.delim)
			if k < 0 {
				k = len(line) - i
			}
			if bytes.IndexByte(line[i:i+k], '"') >= 0 {
				return nil, errQuote
			}
			r.spans = append(r.spans, span{i, i + len(bytes.TrimRight(line[i:i+k], " ")), false})
			i += k
		}
		if i >= len(line) {
			break
		}
		i++ // the delimiter
	}
	out := make([]string, len(r.spans))
	for n, s := range r.spans {
		if s.quoted {
			out[n] = strings.ReplaceAll(string(line[s.lo:s.hi]), `""`, `"`)
		} else {
			out[n] = string(line[s.lo:s.hi])
		}
	}
	return out, nil
}

func trimQuotes(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

// fold is a header name as compared: lower case, without "_", "-", "." or spaces.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return toLower(r)
	}, s)
}

func toLower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func isName(s string, names []string) bool { return indexOf([]string{s}, names) == 0 }

// indexOf returns the first field whose folded name is one of names, in names' order.
func indexOf(fields []string, names []string) int {
	for _, n := range names {
		for i, f := range fields {
			if fold(f) == n {
				return i
			}
		}
	}
	return -1
}

func digitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func allDigits(s string, n int) bool { return len(s) == n && digitCount(s) == n }

func quoteAll(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = strconv.Quote(f)
	}
	return strings.Join(q, ", ")
}

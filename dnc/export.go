package dnc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dncguard/dncguard/store"
)

// ExportOptions say how Export writes a list.
type ExportOptions struct {
	// Format is "csv" (the default): a header line, then number, type, batchId,
	// requestUUID, expiresAt (RFC 3339, UTC; empty: never) and createdAt (RFC 3339, UTC,
	// milliseconds) for each entry; or
	// "lines": one number (E.164) a line.
	Format string
	// Progress, when set, is called every 10,000 entries or so with the count written.
	Progress func(written int)
}

// ExportHeader is the header line of Export's CSV format.
var ExportHeader = []string{"number", "type", "batchId", "requestUUID", "expiresAt", "createdAt"}

// Export writes org's entries to w, oldest first, and returns how many it wrote. It
// reads the list a few hundred entries a round trip (never holding Redis more than a
// millisecond or so), so memory does not grow with the list. An entry listed for the
// whole export is written exactly once; entries added or removed meanwhile may or may
// not be. Import reads the file back to the same numbers with the same metadata and
// expiry (their createdAt becomes the time of that import).
func (e *Enforcer) Export(ctx context.Context, org string, w io.Writer, o ExportOptions) (int, error) {
	if err := validOrg(org); err != nil {
		return 0, err
	}
	lines := false
	switch o.Format {
	case "", "csv":
	case "lines":
		lines = true
	default:
		return 0, fmt.Errorf("%w: export format %q: csv or lines", ErrInvalidArgument, o.Format)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if !lines {
		if _, err := bw.WriteString(strings.Join(ExportHeader, ",") + "\n"); err != nil {
			return 0, fmt.Errorf("dnc: export: %w", err)
		}
	}
	var line []byte
	n, reported := 0, 0
	parts, stop := e.walk(ctx, org)
	defer stop()
	for p := range parts {
		if p.err != nil {
			return n, unavailable(ctx, "export", p.err)
		}
		part := p.entries
		for _, en := range part {
			if lines {
				line = append(append(line[:0], en.Number...), '\n')
			} else {
				line = append(line[:0], en.Number...)
				for _, f := range []string{en.Type, en.BatchID, en.RequestUUID} {
					line = appendCSVField(append(line, ','), f)
				}
				line = append(line, ',')
				if !en.ExpiresAt.IsZero() {
					line = en.ExpiresAt.UTC().AppendFormat(line, time.RFC3339)
				}
				line = append(line, ',')
				line = en.CreatedAt.UTC().AppendFormat(line, "2006-01-02T15:04:05.000Z")
				line = append(line, '\n')
			}
			if _, err := bw.Write(line); err != nil { // a write error stays: the first says it
				return n, fmt.Errorf("dnc: export: %w", err)
			}
		}
		n += len(part)
		if o.Progress != nil && n-reported >= 10_000 {
			reported = n
			o.Progress(n)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("dnc: export: %w", err)
	}
	if o.Progress != nil && n != reported {
		o.Progress(n)
	}
	return n, nil
}

type walkPart struct {
	entries []store.Entry
	err     error
}

// walk reads org's entries oldest first on a goroutine of its own, a part ahead of
// the caller, so that the next round trips overlap the writing of the current part.
// stop ends it.
func (e *Enforcer) walk(ctx context.Context, org string) (<-chan walkPart, func()) {
	out := make(chan walkPart, 2)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(out)
		for cur := int64(0); cur != -1 && ctx.Err() == nil; {
			var p walkPart
			p.entries, cur, p.err = e.st.Walk(ctx, org, cur)
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	return out, func() {
		cancel()
		for range out { // the reader ends at once: its context is cancelled
		}
	}
}

// appendCSVField appends f as a CSV field: quoted (with "" for a quote) when it holds a
// comma, a quote or a line end, or starts or ends with white space, which a reader
// (package rows among them) would otherwise drop.
func appendCSVField(b []byte, f string) []byte {
	if f == "" || !(strings.ContainsAny(f, ",\"\r\n") || f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' || f[len(f)-1] == '\t') {
		return append(b, f...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
	return append(b, '"')
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// progress shows how a long run goes, on stderr: on a terminal a bar redrawn in place
// (rows read, numbers written, rate, share of the file read and time left), otherwise
// a plain line every few seconds.
type progress struct {
	w           io.Writer
	name        string
	size        int64 // the input's size in bytes, 0 when unknown
	read        atomic.Int64
	tty         bool
	start, last time.Time
	drawn       bool
}

func newProgress(w io.Writer, name string, size int64) *progress {
	p := &progress{w: w, name: name, size: size, start: time.Now()}
	p.last = p.start
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// wrap counts the bytes read through r, for the share of the file done.
func (p *progress) wrap(r io.Reader) io.Reader { return counting{r, &p.read} }

type counting struct {
	r io.Reader
	n *atomic.Int64
}

func (c counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (p *progress) update(rows, written int64) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	secs := now.Sub(p.start).Seconds()
	rate := float64(rows) / secs
	line := fmt.Sprintf("%s: %d rows, %d written, %.0f rows/s", p.name, rows, written, rate)
	if read := p.read.Load(); p.size > 0 && read > 0 {
		frac := min(float64(read)/float64(p.size), 1)
		left := time.Duration(secs * (1 - frac) / frac * float64(time.Second)).Round(time.Second)
		if p.tty {
			const width = 30
			bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
			line += fmt.Sprintf(" [%s] %3.0f%% read, ETA %v", bar, frac*100, left)
		} else {
			line += fmt.Sprintf(", %.0f%% of the file read, about %v left", frac*100, left)
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%-110s", line)
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// done ends the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// Command dncctl loads DNC files into an org's list, exports the list, and scrubs call
// lists against it, at the speed of the library's batch paths.
//
//	dncctl import  -org ORG [-column C] [-region R] [-type T] [-batch ID] [-delete] [-json] FILE...
//	dncctl export  -org ORG [-format csv|lines] [-o FILE]
//	dncctl scrub   -org ORG [-column C] [-region R] -o DIALABLE.csv [-skipped SKIPPED.csv] [-json] FILE
//	dncctl enable|disable|status|count -org ORG
//
// Redis comes from -redis URL, -redis-cluster URL or the environment variable
// DNC_REDIS_URL; with none, dncctl refuses to run, except with -demo, which uses an
// embedded Redis that is thrown away at exit. Files are one number a line, CSV/TSV with
// a header, or the FTC registry layout, gzip-compressed or not ("-" reads standard
// input). An invalid row is reported and skipped, never fatal: the exit status is 0
// when the run completed, 1 when it could not (Redis failed, interrupted: the summary
// then says how far it got, and running the same command again resumes it), 2 for a
// usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redisconn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second interrupt ends the process at once
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command line dncctl cannot run.
var errUsage = errors.New("usage")

const usage = `usage:
  dncctl import  -org ORG [-column C] [-region R] [-type T] [-batch ID] [-delete] [-json] FILE...
  dncctl export  -org ORG [-format csv|lines] [-o FILE]
  dncctl scrub   -org ORG [-column C] [-region R] -o DIALABLE.csv [-skipped SKIPPED.csv] [-json] FILE
  dncctl enable|disable|status|count|purge -org ORG
Redis: -redis URL, -redis-cluster URL, or DNC_REDIS_URL; -demo uses a throwaway embedded Redis.
Run "dncctl COMMAND -h" for a command's flags.`

// run runs one command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cmd := &command{name: args[0], stdout: stdout, stderr: stderr}
	var err error
	switch cmd.name {
	case "import":
		err = cmd.importFiles(ctx, args[1:])
	case "export":
		err = cmd.export(ctx, args[1:])
	case "scrub":
		err = cmd.scrub(ctx, args[1:])
	case "enable", "disable", "status", "count", "purge":
		err = cmd.orgCommand(ctx, args[1:])
	default:
		fmt.Fprintf(stderr, "dncctl: unknown command %q\n%s\n", cmd.name, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "dncctl %s: %v\n", cmd.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "dncctl %s: %v\n", cmd.name, err)
		return 1
	}
}

type command struct {
	name           string
	stdout, stderr io.Writer
	fs             *flag.FlagSet

	org, redisURL, clusterURL string
	demo, asJSON              bool
}

func (c *command) flags(withJSON bool) {
	c.fs = flag.NewFlagSet("dncctl "+c.name, flag.ContinueOnError)
	c.fs.SetOutput(c.stderr)
	c.fs.StringVar(&c.org, "org", "", "organization id (required)")
	c.fs.StringVar(&c.redisURL, "redis", "", "Redis URL of a single node, e.g. redis://127.0.0.1:6379/0 (default: $DNC_REDIS_URL)")
	c.fs.StringVar(&c.clusterURL, "redis-cluster", "", "Redis Cluster URL, e.g. redis://127.0.0.1:7000?addr=127.0.0.1:7001")
	c.fs.BoolVar(&c.demo, "demo", false, "use an embedded Redis that is thrown away at exit")
	if withJSON {
		c.fs.BoolVar(&c.asJSON, "json", false, "print the summary as one JSON object on standard output")
	}
}

// fileFlags sets up the flags of a command that reads a file: the common ones, -json,
// -column and -region.
func (c *command) fileFlags() (column, region *string) {
	c.flags(true)
	column = c.fs.String("column", "", "phone column: a header name or a 1-based index (default: the column named phone, number, ...)")
	region = c.fs.String("region", "US", "region of numbers written without a country code")
	return column, region
}

func (c *command) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.org == "" {
		return fmt.Errorf("%w: -org is required", errUsage)
	}
	if err := dnc.ValidOrg(c.org); err != nil {
		return fmt.Errorf("%w: -org: %v", errUsage, err)
	}
	return nil
}

// enforcer connects to the Redis the flags or the environment name.
func (c *command) enforcer(region string) (*dnc.Enforcer, func(), error) {
	url := c.redisURL
	if url == "" && c.clusterURL == "" {
		url = os.Getenv("DNC_REDIS_URL")
	}
	if url == "" && c.clusterURL == "" && !c.demo {
		return nil, nil, fmt.Errorf("%w: no Redis to work on: pass -redis redis://HOST:6379/0 or -redis-cluster URL, or set DNC_REDIS_URL "+
			"(-demo runs on an embedded Redis whose data is thrown away at exit)", errUsage)
	}
	if c.demo && (url != "" || c.clusterURL != "") {
		return nil, nil, fmt.Errorf("%w: -demo runs on an embedded Redis: give it without -redis, -redis-cluster or DNC_REDIS_URL", errUsage)
	}
	rdb, where, _, closeRedis, err := redisconn.Open(url, c.clusterURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	opts := []dnc.Option{}
	if region != "" {
		opts = append(opts, dnc.WithDefaultRegion(region))
	}
	enf, err := dnc.New(rdb, opts...)
	if err != nil {
		closeRedis()
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if !c.asJSON {
		fmt.Fprintf(c.stderr, "dncctl %s: org %q on %s\n", c.name, c.org, where)
	}
	return enf, closeRedis, nil
}

func (c *command) orgCommand(ctx context.Context, args []string) error {
	c.flags(false)
	if err := c.parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, c.fs.Args())
	}
	enf, closeRedis, err := c.enforcer("")
	if err != nil {
		return err
	}
	defer closeRedis()
	timeout := 30 * time.Second
	if c.name == "purge" {
		timeout = time.Hour // a purge walks the whole list, a millisecond of Redis at a time
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch c.name {
	case "purge":
		n, err := enf.Purge(ctx, c.org)
		if err != nil {
			return fmt.Errorf("purge stopped after removing %d expired entries: %w", n, err)
		}
		fmt.Fprintf(c.stdout, "purged %d expired entries from org %q\n", n, c.org)
	case "enable", "disable":
		if err := enf.SetEnabled(ctx, c.org, c.name == "enable"); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "DNC %sd for org %q\n", c.name, c.org)
	case "status":
		on, err := enf.Enabled(ctx, c.org)
		if err != nil {
			return err
		}
		n, err := enf.Count(ctx, c.org)
		if err != nil {
			return err
		}
		state := "enabled: every listed number is skipped"
		if !on {
			state = "disabled: every number may be dialed"
		}
		fmt.Fprintf(c.stdout, "org %q: DNC %s; %d numbers listed\n", c.org, state, n)
	case "count":
		n, err := enf.Count(ctx, c.org)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, n)
	}
	return nil
}

func (c *command) importFiles(ctx context.Context, args []string) error {
	column, region := c.fileFlags()
	typ := c.fs.String("type", "", "type of every entry whose row has none")
	batch := c.fs.String("batch", "", "batchId of every entry whose row has none")
	del := c.fs.Bool("delete", false, "remove the numbers instead of listing them (an action column decides row by row)")
	if err := c.parse(args); err != nil {
		return err
	}
	if c.fs.NArg() == 0 {
		return fmt.Errorf("%w: no FILE to import", errUsage)
	}
	if err := checkFiles(c.fs.Args()); err != nil {
		return err
	}
	meta := dnc.Meta{Type: *typ, BatchID: *batch}
	if err := meta.Validate(); err != nil {
		return fmt.Errorf("%w: -type or -batch: %v", errUsage, err)
	}
	enf, closeRedis, err := c.enforcer(*region)
	if err != nil {
		return err
	}
	defer closeRedis()
	var total dnc.ImportReport
	start := time.Now()
	for _, name := range c.fs.Args() {
		in, size, closeIn, err := openInput(name)
		if err != nil {
			return err
		}
		p := newProgress(c.stderr, name, size)
		rep, err := enf.Import(ctx, c.org, p.wrap(in), dnc.ImportOptions{
			Column: *column, Meta: meta, Delete: *del,
			Progress: func(r dnc.ImportReport) { p.update(r.Rows, r.Added+r.Removed) },
		})
		closeIn()
		p.done()
		add(&total, rep)
		if err != nil {
			c.printImport(name, total, time.Since(start))
			if errors.Is(err, dnc.ErrInvalidArgument) && rep.Line == 0 && rep.Rows == 0 {
				return fmt.Errorf("%w: %s: %v", errUsage, name, err) // the file's header, -column, -region
			}
			return fmt.Errorf("%s: stopped after line %d (every row up to it is applied; run the same command again to finish: it changes nothing already done): %w", name, rep.Line, err)
		}
	}
	c.printImport(strings.Join(c.fs.Args(), ", "), total, time.Since(start))
	return nil
}

func add(t *dnc.ImportReport, r dnc.ImportReport) {
	t.Rows += r.Rows
	t.Added += r.Added
	t.Existing += r.Existing
	t.Removed += r.Removed
	t.NotListed += r.NotListed
	t.Invalid += r.Invalid
	t.Duplicates += r.Duplicates
	t.Line = r.Line
	t.Errors = append(t.Errors, r.Errors[:min(len(r.Errors), 100-len(t.Errors))]...)
}

type rowErrorJSON struct {
	Line  int64  `json:"line"`
	Text  string `json:"text"`
	Error string `json:"error"`
}

func rowErrors(errs []dnc.RowError) []rowErrorJSON {
	out := make([]rowErrorJSON, len(errs))
	for i, e := range errs {
		out[i] = rowErrorJSON{e.Line, e.Text, why(e.Err)}
	}
	return out
}

func (c *command) printImport(name string, r dnc.ImportReport, took time.Duration) {
	secs := took.Seconds()
	if c.asJSON {
		_ = json.NewEncoder(c.stdout).Encode(map[string]any{
			"rows": r.Rows, "added": r.Added, "existing": r.Existing, "removed": r.Removed, "notListed": r.NotListed,
			"invalid": r.Invalid, "duplicates": r.Duplicates, "seconds": round3(secs), "errors": rowErrors(r.Errors),
		})
		return
	}
	c.printErrors(r.Errors, r.Invalid)
	fmt.Fprintf(c.stdout, "%s: %d rows: %d added, %d already listed, %d duplicates, %d removed, %d not listed, %d invalid; %.1f s (%.0f rows/s)\n",
		name, r.Rows, r.Added, r.Existing, r.Duplicates, r.Removed, r.NotListed, r.Invalid, secs, float64(r.Rows)/max(secs, 1e-9))
}

func (c *command) printErrors(errs []dnc.RowError, n int64) {
	for _, e := range errs {
		fmt.Fprintf(c.stderr, "line %d: %s: %s\n", e.Line, e.Text, why(e.Err))
	}
	if more := n - int64(len(errs)); more > 0 {
		fmt.Fprintf(c.stderr, "... and %d more invalid rows\n", more)
	}
}

// why says what is wrong with a row: for a number, the phone package's reason.
func why(err error) string {
	var ne *dnc.NumberError
	if errors.As(err, &ne) && ne.Err != nil {
		return "invalid phone number: " + ne.Err.Error()
	}
	return err.Error()
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func (c *command) export(ctx context.Context, args []string) error {
	c.flags(false)
	format := c.fs.String("format", "csv", "csv (number,type,batchId,requestUUID,createdAt) or lines (one number a line)")
	outName := c.fs.String("o", "-", "output file (- for standard output)")
	if err := c.parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, c.fs.Args())
	}
	if *format != "csv" && *format != "lines" {
		return fmt.Errorf("%w: -format %q: csv or lines", errUsage, *format)
	}
	enf, closeRedis, err := c.enforcer("")
	if err != nil {
		return err
	}
	defer closeRedis()
	out, commit, err := createOutput(*outName, c.stdout)
	if err != nil {
		return err
	}
	defer commit(false)
	start := time.Now()
	p := newProgress(c.stderr, "export", 0)
	n, err := enf.Export(ctx, c.org, out, dnc.ExportOptions{Format: *format, Progress: func(n int) { p.update(int64(n), int64(n)) }})
	p.done()
	if err != nil {
		return fmt.Errorf("after %d entries (the output is removed): %w", n, err)
	}
	if err := commit(true); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(c.stderr, "exported %d entries in %.1f s (%.0f rows/s)\n", n, secs, float64(n)/max(secs, 1e-9))
	return nil
}

func (c *command) scrub(ctx context.Context, args []string) error {
	column, region := c.fileFlags()
	outName := c.fs.String("o", "", "file to write the dialable rows to (required)")
	skippedName := c.fs.String("skipped", "", "file to write the skipped rows to, with a dnc_reason column")
	if err := c.parse(args); err != nil {
		return err
	}
	if *outName == "" || c.fs.NArg() != 1 {
		return fmt.Errorf("%w: scrub needs -o DIALABLE.csv and one FILE", errUsage)
	}
	if err := checkFiles(c.fs.Args()); err != nil {
		return err
	}
	if err := distinctFiles(c.fs.Arg(0), *outName, *skippedName); err != nil {
		return err
	}
	enf, closeRedis, err := c.enforcer(*region)
	if err != nil {
		return err
	}
	defer closeRedis()
	name := c.fs.Arg(0)
	in, size, closeIn, err := openInput(name)
	if err != nil {
		return err
	}
	defer closeIn()
	dial, commitDial, err := createOutput(*outName, c.stdout)
	if err != nil {
		return err
	}
	defer commitDial(false)
	var skipped io.Writer
	commitSkipped := func(bool) error { return nil }
	if *skippedName != "" {
		if skipped, commitSkipped, err = createOutput(*skippedName, c.stdout); err != nil {
			return err
		}
		defer commitSkipped(false)
	}
	start := time.Now()
	p := newProgress(c.stderr, name, size)
	rep, err := enf.Scrub(ctx, c.org, p.wrap(in), dial, skipped, dnc.ScrubOptions{
		Column: *column, Progress: func(r dnc.ScrubReport) { p.update(r.Rows, r.Rows) },
	})
	p.done()
	secs := time.Since(start).Seconds()
	if err != nil {
		c.printScrub(name, rep, secs)
		if errors.Is(err, dnc.ErrInvalidArgument) && rep.Rows == 0 {
			return fmt.Errorf("%w: %s: %v", errUsage, name, err) // the file's header, -column, -region
		}
		return fmt.Errorf("stopped after line %d; the outputs are removed (a partial list must not be dialed): %w", rep.Line, err)
	}
	if err := commitDial(true); err != nil {
		return err
	}
	if err := commitSkipped(true); err != nil {
		return err
	}
	c.printScrub(name, rep, secs)
	return nil
}

func (c *command) printScrub(name string, r dnc.ScrubReport, secs float64) {
	if c.asJSON {
		_ = json.NewEncoder(c.stdout).Encode(map[string]any{
			"rows": r.Rows, "dialable": r.Dialable, "skipped": r.Skipped, "listed": r.Listed, "invalid": r.Invalid,
			"disabled": r.Disabled, "seconds": round3(secs), "errors": rowErrors(r.Errors),
		})
		return
	}
	c.printErrors(r.Errors, r.Invalid)
	fmt.Fprintf(c.stdout, "%s: %d rows: %d dialable, %d skipped (%d listed, %d invalid); %.1f s (%.0f rows/s)\n",
		name, r.Rows, r.Dialable, r.Skipped, r.Listed, r.Invalid, secs, float64(r.Rows)/max(secs, 1e-9))
	if r.Disabled {
		fmt.Fprintf(c.stdout, "DNC is switched off for org %q: no row was skipped as listed\n", c.org)
	}
}

// checkFiles makes sure every FILE argument names a file that is there, before
// anything is written: a flag given after the files ("a.csv -delete") would otherwise
// be read as a file name after the files before it were applied without it.
func checkFiles(names []string) error {
	for _, name := range names {
		if name != "-" && strings.HasPrefix(name, "-") {
			return fmt.Errorf("%w: %q after the files: flags go before them", errUsage, name)
		}
		if name == "-" {
			continue
		}
		if _, err := os.Stat(name); err != nil { // not opened: a FIFO is read once
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	return nil
}

// distinctFiles refuses a scrub whose outputs are not files of their own: standard
// output (a dialable list already streamed could not be withdrawn if the scrub then
// failed), the input, or the other output.
func distinctFiles(in, dial, skipped string) error {
	if dial == "-" || skipped == "-" {
		return fmt.Errorf("%w: scrub writes its outputs to files (-o and -skipped), never to standard output, so that a scrub that fails leaves no partial list", errUsage)
	}
	paths := []string{in, dial, skipped}
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if a == "" || b == "" || a == "-" || b == "-" {
				continue
			}
			if same(a, b) {
				return fmt.Errorf("%w: %s is given twice among the input, -o and -skipped", errUsage, a)
			}
		}
	}
	return nil
}

func same(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// openInput opens a file ("-": standard input) and returns its size (0 when unknown).
func openInput(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return os.Stdin, 0, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { _ = f.Close() }, nil
}

// createOutput creates name ("-": stdout) as a temporary file beside it, renamed into
// place by commit(true); commit(false) removes it. So a run that fails leaves no
// partial file that could be taken for a whole one.
func createOutput(name string, stdout io.Writer) (io.Writer, func(bool) error, error) {
	if name == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.partial")
	if err != nil {
		return nil, nil, err
	}
	done := false
	return f, func(ok bool) error {
		if done {
			return nil
		}
		done = true
		err := f.Close()
		if ok && err == nil {
			err = os.Chmod(f.Name(), 0o644) // as os.Create would, under the usual umask
		}
		if ok && err == nil {
			if err = os.Rename(f.Name(), name); err == nil {
				return nil
			}
		}
		_ = os.Remove(f.Name())
		return err
	}, nil
}

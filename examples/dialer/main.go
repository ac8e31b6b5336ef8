// Command dialer is the main job of dncguard shown end to end: a dialer walks a call
// list and asks the Enforcer before every call whether to dial or skip.
//
//	go run ./examples/dialer                       # embedded Redis, built-in lists
//	go run ./examples/dialer -redis redis://127.0.0.1:6379/0
//	go run ./examples/dialer -redis-cluster 'redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002'
//	go run ./examples/dialer -dnc dnc.txt -calls calls.txt -org acme -region US
//
// List files hold one number per line, in any format; blank lines and lines starting
// with # are ignored. With no -calls file it switches DNC off and on again mid-run, to
// show that a disabled org's checks are bypassed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redisconn"
)

var defaultDNC = []string{
	"(212) 555-1234",      // listed in US national format
	"+44 20 7946 0958",    // a London number, international format
	"1-800-FLOWERS",       // a vanity number
	"tel:+1-415-555-2671", // a tel: URI
}

var defaultCalls = []string{
	"+12125551234",           // listed, as (212) 555-1234
	"212.555.1234",           // listed, dots
	"(646) 555-0134",         // not listed
	"1 212 555 1234",         // listed, with the trunk prefix
	"011 44 20 7946 0958",    // listed, dialled through the US international prefix
	"911",                    // invalid: a short code, never a campaign number
	"+1 800 356 9377",        // listed, as 1-800-FLOWERS (dialled: DNC is off here)
	"(415) 555-2671 ext. 12", // listed: an extension does not change the number (DNC off)
	"555-0100",               // invalid: no area code (skipped even with DNC off)
	"+1 (312) 555-0199",      // not listed
	"tel:+1-212-555-1234",    // listed, tel: URI
	"not a number",           // invalid
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dialer:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dialer", flag.ContinueOnError)
	redisURL := fs.String("redis", "", "Redis URL of a single node, e.g. redis://127.0.0.1:6379/0 (default: an embedded Redis)")
	clusterURL := fs.String("redis-cluster", "", "Redis Cluster URL, e.g. redis://127.0.0.1:7000?addr=127.0.0.1:7001")
	dncFile := fs.String("dnc", "", "file of numbers to list for the org (default: a built-in list)")
	callsFile := fs.String("calls", "", "file of numbers to call (default: a built-in call list)")
	org := fs.String("org", "acme", "organization id")
	region := fs.String("region", "US", "default region for numbers without a country code")
	if err := fs.Parse(args); err != nil {
		return err
	}

	rdb, where, _, closeRedis, err := redisconn.Open(*redisURL, *clusterURL)
	if err != nil {
		return err
	}
	defer closeRedis()
	enf, err := dnc.New(rdb, dnc.WithDefaultRegion(*region))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dncList, err := readList(*dncFile, defaultDNC)
	if err != nil {
		return err
	}
	calls, err := readList(*callsFile, defaultCalls)
	if err != nil {
		return err
	}
	demo := *callsFile == ""

	fmt.Fprintf(out, "dncguard dialer on %s, org %q, region %s\n", where, *org, enf.Region())
	added, err := enf.Add(ctx, *org, dncList...)
	if err != nil {
		return fmt.Errorf("load DNC list: %w", err)
	}
	count, err := enf.Count(ctx, *org)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "DNC list: %d numbers given, %d newly listed, %d listed in all\n\n", len(dncList), added, count)

	const row = "%-3s %-24s %-15s %-6s %s\n"
	fmt.Fprintf(out, row, "#", "INPUT", "E.164", "ACTION", "REASON")
	byReason := map[dnc.Reason]int{}
	dialled, skipped := 0, 0
	for i, number := range calls {
		if demo && i == 6 {
			if err := toggle(ctx, out, enf, *org, false); err != nil {
				return err
			}
		}
		if demo && i == 9 {
			if err := toggle(ctx, out, enf, *org, true); err != nil {
				return err
			}
		}
		d, err := enf.Check(ctx, *org, number)
		action := "DIAL"
		if d.Skip {
			action = "SKIP"
			skipped++
		} else {
			dialled++
		}
		byReason[d.Reason]++
		e164 := d.Number
		if e164 == "" {
			e164 = "-"
		}
		reason := string(d.Reason)
		if err != nil && !errors.Is(err, dnc.ErrInvalidNumber) {
			reason += ": " + err.Error() // storage trouble: skipped, and said why
		}
		fmt.Fprintf(out, row, fmt.Sprint(i+1), number, e164, action, reason)
	}
	fmt.Fprintf(out, "\nsummary: %d calls, %d dialled, %d skipped", len(calls), dialled, skipped)
	for _, r := range []dnc.Reason{dnc.ReasonListed, dnc.ReasonNotListed, dnc.ReasonDisabled, dnc.ReasonInvalidNumber, dnc.ReasonUnavailable} {
		if byReason[r] > 0 {
			fmt.Fprintf(out, ", %s %d", r, byReason[r])
		}
	}
	fmt.Fprintln(out)
	return nil
}

func toggle(ctx context.Context, out io.Writer, enf *dnc.Enforcer, org string, on bool) error {
	if err := enf.SetEnabled(ctx, org, on); err != nil {
		return err
	}
	state := "OFF: checks bypassed, listed numbers are dialled"
	if on {
		state = "ON again: listed numbers are skipped"
	}
	fmt.Fprintf(out, "--- DNC switched %s\n", state)
	return nil
}

// readList reads one number per line from path, or returns def when path is "".
func readList(path string, def []string) ([]string, error) {
	if path == "" {
		return def, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

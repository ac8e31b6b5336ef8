package dnc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/phone"
	"github.com/redis/go-redis/v9"
)

// The behaviour suite: every rule of the dnc contract, run against miniredis, a real
// redis-server and a real 3-master Redis Cluster.

func TestSuiteMiniredis(t *testing.T) {
	t.Parallel() // every test of the package that starts its own servers runs in parallel
	runSuite(t, miniBackend(t))
}

func TestSuiteRedis(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	runSuite(t, backend{name: "redis", client: s.Client(t)})
}

func TestSuiteCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	runSuite(t, backend{name: "cluster", client: c.Client(t)})
}

func runSuite(t *testing.T, b backend) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, rdb redis.UniversalClient)
	}{
		{"DefaultEnabled", testDefaultEnabled},
		{"FormatEquivalence", testFormatEquivalence},
		{"Toggle", testToggle},
		{"InvalidNumberTouchesNothing", testInvalidNumber},
		{"InvalidOrg", testInvalidOrg},
		{"AddAllOrNothing", testAddAllOrNothing},
		{"AddRemoveCount", testAddRemoveCount},
		{"OrgIsolation", testOrgIsolation},
		{"DefaultDisabledOption", testDefaultDisabledOption},
		{"KeyPrefix", testKeyPrefix},
		{"OneRoundTrip", testOneRoundTrip},
		{"CheckMany", testCheckMany},
		{"CheckManyIn", testCheckManyIn},
		{"CheckManyLarge", testCheckManyLarge},
		{"Entries", testEntries},
		{"ListAndSearch", testListAndSearch},
		{"Scan", testScan},
		{"EndedContext", testEndedContext},
		{"InjectedFailure", testInjectedFailure},
		{"Concurrent", testConcurrent},
		{"StaleID", testStaleID},
		{"Observer", testObserver},
		{"Import", testImport},
		{"ImportBadOnly", testImportBadOnly},
		{"ImportDelete", testImportDelete},
		{"ImportFormats", testImportFormats},
		{"ImportInterrupted", testImportInterrupted},
		{"ExportRoundTrip", testExportRoundTrip},
		{"Scrub", testScrub},
		{"ScrubFailure", testScrubFailure},
		{"Rules", testRules},
		{"RulesIsolation", testRulesIsolation},
		{"Expiry", testExpiry},
		{"Audit", testAudit},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.client) })
	}
}

func mustSkip(t *testing.T, e *dnc.Enforcer, org, number string, want bool) {
	t.Helper()
	got, err := e.ShouldSkip(ctxT(t), org, number)
	if err != nil || got != want {
		t.Errorf("ShouldSkip(%q, %q) = %v, %v; want %v, nil", org, number, got, err, want)
	}
}

func testDefaultEnabled(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	on, err := e.Enabled(ctx, o)
	if err != nil || !on {
		t.Fatalf("Enabled of a new org = %v, %v; want true, nil", on, err)
	}
	mustSkip(t, e, o, "(415) 555-2671", false)
	if _, err := e.Add(ctx, o, "(415) 555-2671"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(415) 555-2671", true)
}

func testFormatEquivalence(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if n, err := e.Add(ctx, o, "(212) 555-1234"); err != nil || n != 1 {
		t.Fatalf("Add = %d, %v; want 1, nil", n, err)
	}
	for _, f := range []string{"+12125551234", "212.555.1234", "1 212 555 1234", "+1 212-555-1234 ext. 9",
		"tel:+1-212-555-1234", "(212) 555-1234", "212-555-1234", "1-212-555-1234", "0011 1 212 555 1234x5", "１２１２５５５１２３４"} {
		// "0011 ..." is an AU-style IDD prefix: under US it is not a valid number.
		if f == "0011 1 212 555 1234x5" {
			if skip, err := e.ShouldSkip(ctx, o, f); !skip || !errors.Is(err, dnc.ErrInvalidNumber) {
				t.Errorf("ShouldSkip(%q) = %v, %v; want true, ErrInvalidNumber", f, skip, err)
			}
			continue
		}
		d, err := e.Check(ctx, o, f)
		if err != nil || !d.Skip || d.Reason != dnc.ReasonListed || d.Number != "+12125551234" {
			t.Errorf("Check(%q) = %+v, %v; want skip, listed, +12125551234", f, d, err)
		}
		if d.Entry == nil || d.Entry.Number != "+12125551234" || len(d.Entry.ID) != 24 {
			t.Errorf("Check(%q).Entry = %+v; want the entry of +12125551234", f, d.Entry)
		}
	}
	// Added in one format, removed in another.
	if n, err := e.Remove(ctx, o, "tel:+1-212-555-1234"); err != nil || n != 1 {
		t.Fatalf("Remove = %d, %v; want 1, nil", n, err)
	}
	mustSkip(t, e, o, "212.555.1234", false)

	// Another region's national format, under that default region.
	gb := newEnforcer(t, rdb, dnc.WithDefaultRegion("gb"))
	if _, err := gb.Add(ctx, o, "020 7946 0958"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, gb, o, "+44 20 7946 0958", true)
	mustSkip(t, e, o, "011 44 20 7946 0958", true) // the same list, read under US
}

func testToggle(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetEnabled(ctx, o, false); err != nil {
		t.Fatal(err)
	}
	if on, err := e.Enabled(ctx, o); err != nil || on {
		t.Fatalf("Enabled after SetEnabled(false) = %v, %v", on, err)
	}
	d, err := e.Check(ctx, o, "(415) 555-2671")
	if err != nil || d.Skip || d.Reason != dnc.ReasonDisabled || d.Number != "+14155552671" {
		t.Fatalf("Check while disabled = %+v, %v; want dial, disabled", d, err)
	}
	// Invalid input is still skipped while disabled.
	if skip, err := e.ShouldSkip(ctx, o, "555-0100"); !skip || !errors.Is(err, dnc.ErrInvalidNumber) {
		t.Fatalf("ShouldSkip(invalid) while disabled = %v, %v", skip, err)
	}
	if err := e.SetEnabled(ctx, o, true); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "(415) 555-2671", true)
	if on, err := e.Enabled(ctx, o); err != nil || !on {
		t.Fatalf("Enabled after SetEnabled(true) = %v, %v", on, err)
	}
}

func testInvalidNumber(t *testing.T, rdb redis.UniversalClient) {
	rdb, cnt := hooked(rdb)
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	for _, n := range []string{"", "   ", "555-0100", "911", "abc", "12", strings.Repeat("9", 10_000),
		"+1 212 555 123", "(012) 555-1234", "\xff\xfe", "+١٢"} {
		before := cnt.trips.Load()
		d, err := e.Check(ctx, o, n)
		if !d.Skip || d.Reason != dnc.ReasonInvalidNumber || d.Number != "" || !errors.Is(err, dnc.ErrInvalidNumber) {
			t.Errorf("Check(%.20q) = %+v, %v; want skip, invalid_number, ErrInvalidNumber", n, d, err)
		}
		var ne *dnc.NumberError
		if !errors.As(err, &ne) || ne.Input != n || ne.Index != 0 {
			t.Errorf("Check(%.20q) error %v is not a *NumberError for it", n, err)
		}
		if got := cnt.trips.Load() - before; got != 0 {
			t.Errorf("Check(%.20q) made %d Redis calls; want 0", n, got)
		}
	}
	_, err := e.Check(ctx, o, strings.Repeat("1", 200))
	if !errors.Is(err, phone.ErrTooLong) {
		t.Errorf("Check(200 digits) error = %v; want phone.ErrTooLong inside", err)
	}
}

func testInvalidOrg(t *testing.T, rdb redis.UniversalClient) {
	e, ctx := newEnforcer(t, rdb), ctxT(t)
	before := snapshot(t, rdb)
	for _, o := range []string{"", "a b", "{acme}", "ac}me", "ac{me", strings.Repeat("x", 129), "tab\there",
		"nul\x00", "nbsp\u00a0", "bad\xffutf8", "new\nline", "\u200b"} {
		if err := dnc.ValidOrg(o); !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("ValidOrg(%q) = %v; want ErrInvalidOrg", o, err)
		}
		if skip, err := e.ShouldSkip(ctx, o, "+14155552671"); !skip || !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("ShouldSkip(org %q) = %v, %v; want true, ErrInvalidOrg", o, skip, err)
		}
		if err := e.SetEnabled(ctx, o, false); !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("SetEnabled(org %q) = %v; want ErrInvalidOrg", o, err)
		}
		if on, err := e.Enabled(ctx, o); !on || !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("Enabled(org %q) = %v, %v; want true, ErrInvalidOrg", o, on, err)
		}
		if n, err := e.Add(ctx, o, "+14155552671"); n != 0 || !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("Add(org %q) = %d, %v; want 0, ErrInvalidOrg", o, n, err)
		}
		if _, err := e.AddEntry(ctx, o, "+14155552671", dnc.Meta{}); !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("AddEntry(org %q) = %v; want ErrInvalidOrg", o, err)
		}
		if _, err := e.Remove(ctx, o, "+14155552671"); !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("Remove(org %q) = %v; want ErrInvalidOrg", o, err)
		}
		if _, err := e.Count(ctx, o); !errors.Is(err, dnc.ErrInvalidOrg) {
			t.Errorf("Count(org %q) = %v; want ErrInvalidOrg", o, err)
		}
		ds, err := e.CheckMany(ctx, o, []string{"+14155552671"})
		if !errors.Is(err, dnc.ErrInvalidOrg) || len(ds) != 1 || !ds[0].Skip || ds[0].Reason != dnc.ReasonInvalidOrg {
			t.Errorf("CheckMany(org %q) = %+v, %v", o, ds, err)
		}
	}
	if after := snapshot(t, rdb); after != before {
		t.Errorf("invalid org ids wrote to Redis:\nbefore %s\nafter %s", before, after)
	}
	// The limits themselves are valid.
	for _, o := range []string{"a", strings.Repeat("x", 128), "org:with:colons", "ünïcode-org", "acme/eu-1"} {
		if err := e.SetEnabled(ctx, o, true); err != nil {
			t.Errorf("SetEnabled(org %q) = %v; want nil", o, err)
		}
		if err := dnc.ValidOrg(o); err != nil {
			t.Errorf("ValidOrg(%q) = %v; want nil", o, err)
		}
	}
}

func testAddAllOrNothing(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155550001"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, rdb)
	n, err := e.Add(ctx, o, "(212) 555-1234", "+44 20 7946 0958", "555-0100", "(415) 555-2671")
	var ne *dnc.NumberError
	if n != 0 || !errors.As(err, &ne) || ne.Index != 2 || ne.Input != "555-0100" || !errors.Is(err, dnc.ErrInvalidNumber) {
		t.Fatalf("Add with an invalid number = %d, %v; want 0 and a *NumberError for index 2 %q", n, err, "555-0100")
	}
	if !strings.Contains(err.Error(), `2 "555-0100"`) {
		t.Errorf("error %q does not name the index and text", err)
	}
	if _, err := e.Remove(ctx, o, "+14155550001", "junk"); !errors.Is(err, dnc.ErrInvalidNumber) {
		t.Fatalf("Remove with an invalid number = %v", err)
	}
	if after := snapshot(t, rdb); after != before {
		t.Errorf("a rejected Add or Remove wrote to Redis:\nbefore %s\nafter %s", before, after)
	}
	mustSkip(t, e, o, "(212) 555-1234", false)
	mustSkip(t, e, o, "+14155550001", true)
}

func testAddRemoveCount(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if n, err := e.Add(ctx, o); n != 0 || err != nil {
		t.Fatalf("Add() = %d, %v", n, err)
	}
	if n, err := e.Add(ctx, o, "(212) 555-1234", "+12125551234", "212.555.1234", "(415) 555-2671"); n != 2 || err != nil {
		t.Fatalf("Add of 3 formats of one number and 1 other = %d, %v; want 2", n, err)
	}
	if n, err := e.Add(ctx, o, "1 212 555 1234"); n != 0 || err != nil {
		t.Fatalf("Add of a listed number = %d, %v; want 0", n, err)
	}
	if c, err := e.Count(ctx, o); c != 2 || err != nil {
		t.Fatalf("Count = %d, %v; want 2", c, err)
	}
	if n, err := e.Remove(ctx, o, "+12125551234", "+13125550100"); n != 1 || err != nil {
		t.Fatalf("Remove = %d, %v; want 1", n, err)
	}
	if c, _ := e.Count(ctx, o); c != 1 {
		t.Fatalf("Count after Remove = %d; want 1", c)
	}
	// Removing every number empties the list.
	if _, err := e.Remove(ctx, o, "(415) 555-2671"); err != nil {
		t.Fatal(err)
	}
	if p, err := e.List(ctx, o, dnc.ListOptions{Limit: 10}); err != nil || p.Total != 0 || len(p.Entries) != 0 {
		t.Errorf("List of an emptied list = %+v, %v; want nothing", p, err)
	}
	// A large add crosses the store's chunk size.
	nums := make([]string, 1500)
	for i := range nums {
		nums[i] = fmt.Sprintf("(212) 555-%04d", i)
	}
	if n, err := e.Add(ctx, o, nums...); n != 1500 || err != nil {
		t.Fatalf("Add 1500 = %d, %v", n, err)
	}
	if c, _ := e.Count(ctx, o); c != 1500 {
		t.Fatalf("Count = %d; want 1500", c)
	}
	mustSkip(t, e, o, "+12125551499", true)
	if n, err := e.Remove(ctx, o, nums...); n != 1500 || err != nil {
		t.Fatalf("Remove 1500 = %d, %v", n, err)
	}
}

func testOrgIsolation(t *testing.T, rdb redis.UniversalClient) {
	e, a, b, ctx := newEnforcer(t, rdb), org(t), org(t), ctxT(t)
	if _, err := e.Add(ctx, a, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, a, "+14155552671", true)
	mustSkip(t, e, b, "+14155552671", false)
	if err := e.SetEnabled(ctx, b, false); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, a, "+14155552671", true)
	if n, err := e.Remove(ctx, b, "+14155552671"); n != 0 || err != nil {
		t.Fatalf("Remove from org b = %d, %v; want 0", n, err)
	}
	mustSkip(t, e, a, "+14155552671", true)
	if c, _ := e.Count(ctx, b); c != 0 {
		t.Fatalf("Count of b = %d", c)
	}
}

func testDefaultDisabledOption(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb, dnc.WithDefaultEnabled(false)), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	if on, err := e.Enabled(ctx, o); on || err != nil {
		t.Fatalf("Enabled = %v, %v; want false under WithDefaultEnabled(false)", on, err)
	}
	mustSkip(t, e, o, "+14155552671", false)
	if err := e.SetEnabled(ctx, o, true); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, e, o, "+14155552671", true)
}

func testKeyPrefix(t *testing.T, rdb redis.UniversalClient) {
	o, ctx := org(t), ctxT(t)
	x, y := newEnforcer(t, rdb, dnc.WithKeyPrefix("appx")), newEnforcer(t, rdb, dnc.WithKeyPrefix("appy"))
	if _, err := x.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	mustSkip(t, x, o, "+14155552671", true)
	mustSkip(t, y, o, "+14155552671", false)
	for _, k := range allKeys(t, rdb) {
		if strings.Contains(k, "{"+o+"}") && !strings.HasPrefix(k, "appx:{"+o+"}:") {
			t.Errorf("key %s does not carry prefix appx", k)
		}
	}
	for _, p := range []string{"", "a{b", "c}"} {
		if _, err := dnc.New(rdb, dnc.WithKeyPrefix(p)); err == nil {
			t.Errorf("WithKeyPrefix(%q) accepted", p)
		}
	}
}

func testOneRoundTrip(t *testing.T, rdb redis.UniversalClient) {
	rdb, cnt := hooked(rdb)
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	// The first run of a script may cost a NOSCRIPT and an EVAL; warm it.
	mustSkip(t, e, o, "+14155552671", true)
	for _, c := range []struct {
		number string
		skip   bool
	}{{"(415) 555-2671", true}, {"(415) 555-2672", false}} {
		before := cnt.trips.Load()
		mustSkip(t, e, o, c.number, c.skip)
		if got := cnt.trips.Load() - before; got != 1 {
			t.Errorf("ShouldSkip(%q) made %d round trips; want 1", c.number, got)
		}
	}
	if err := e.SetEnabled(ctx, o, false); err != nil {
		t.Fatal(err)
	}
	before := cnt.trips.Load()
	mustSkip(t, e, o, "(415) 555-2671", false)
	if got := cnt.trips.Load() - before; got != 1 {
		t.Errorf("ShouldSkip while disabled made %d round trips; want 1", got)
	}
	nums := make([]string, 1500)
	for i := range nums {
		nums[i] = fmt.Sprintf("+1415555%04d", i)
	}
	if _, err := e.CheckMany(ctx, o, nums); err != nil { // warm: connection set-up is not a check's cost
		t.Fatal(err)
	}
	before = cnt.trips.Load()
	if _, err := e.CheckMany(ctx, o, nums); err != nil {
		t.Fatal(err)
	}
	if got := cnt.trips.Load() - before; got != 1 {
		t.Errorf("CheckMany of 1500 made %d round trips; want 1", got)
	}
}

func testCheckMany(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "(212) 555-1234", "+442079460958"); err != nil {
		t.Fatal(err)
	}
	in := []string{"212.555.1234", "junk", "(415) 555-2671", "011 44 20 7946 0958", "911"}
	ds, err := e.CheckMany(ctx, o, in)
	var ne *dnc.NumberError
	if !errors.As(err, &ne) || ne.Index != 1 || ne.Input != "junk" {
		t.Fatalf("CheckMany error = %v; want the *NumberError of index 1", err)
	}
	want := []dnc.Decision{
		{Skip: true, Reason: dnc.ReasonListed, Number: "+12125551234"},
		{Skip: true, Reason: dnc.ReasonInvalidNumber},
		{Reason: dnc.ReasonNotListed, Number: "+14155552671"},
		{Skip: true, Reason: dnc.ReasonListed, Number: "+442079460958"},
		{Skip: true, Reason: dnc.ReasonInvalidNumber},
	}
	if len(ds) != len(want) {
		t.Fatalf("CheckMany returned %d decisions; want %d", len(ds), len(want))
	}
	for i := range want {
		if ds[i] != want[i] {
			t.Errorf("decision %d (%q) = %+v; want %+v", i, in[i], ds[i], want[i])
		}
		// The same decision as Check, less the entry.
		d, _ := e.Check(ctx, o, in[i])
		d.Entry = nil
		if d != ds[i] {
			t.Errorf("Check(%q) = %+v, CheckMany said %+v", in[i], d, ds[i])
		}
	}
	if err := e.SetEnabled(ctx, o, false); err != nil {
		t.Fatal(err)
	}
	ds, _ = e.CheckMany(ctx, o, in[:1])
	if ds[0].Skip || ds[0].Reason != dnc.ReasonDisabled {
		t.Errorf("CheckMany while disabled = %+v", ds[0])
	}
	if ds, err := e.CheckMany(ctx, o, nil); len(ds) != 0 || err != nil {
		t.Errorf("CheckMany(nil) = %v, %v", ds, err)
	}
}

// testCheckManyLarge: a batch large enough to be normalized on several cores gets, in
// order, the decision Check gives each number, the error of its first invalid number,
// and the Observer hears each decision with its own error.
func testCheckManyLarge(t *testing.T, rdb redis.UniversalClient) {
	log := &recorder{}
	e, o, ctx := newEnforcer(t, rdb, dnc.WithObserver(log)), org(t), ctxT(t)
	var in, listed []string
	for i := 0; i < 3000; i++ {
		n := fmt.Sprintf("(415) 555-%04d", i)
		switch {
		case i%97 == 13:
			n = fmt.Sprintf("junk %d", i)
		case i%7 == 0:
			listed = append(listed, n)
		}
		in = append(in, n)
	}
	if _, err := e.Add(ctx, o, listed...); err != nil {
		t.Fatal(err)
	}
	log.ds, log.errs = nil, nil
	ds, err := e.CheckMany(ctx, o, in)
	var ne *dnc.NumberError
	if !errors.As(err, &ne) || ne.Index != 13 || ne.Input != "junk 13" {
		t.Fatalf("CheckMany error = %v; want the *NumberError of index 13", err)
	}
	if len(ds) != len(in) || len(log.ds) != len(in) {
		t.Fatalf("CheckMany returned %d decisions, observed %d; want %d", len(ds), len(log.ds), len(in))
	}
	for i, raw := range in {
		d, cerr := e.Check(ctx, o, raw)
		d.Entry = nil
		if d != ds[i] || log.ds[i] != ds[i] {
			t.Errorf("number %d %q: CheckMany %+v, observed %+v; Check %+v", i, raw, ds[i], log.ds[i], d)
		}
		if (cerr == nil) != (log.errs[i] == nil) || (cerr != nil && !errors.As(log.errs[i], &ne)) || (cerr != nil && ne.Index != i) {
			t.Errorf("number %d %q: observed error %v; Check's %v", i, raw, log.errs[i], cerr)
		}
	}
}

func testCheckManyIn(t *testing.T, rdb redis.UniversalClient) {
	rdb, cnt := hooked(rdb)
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+12125551234", "+442079460958"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CheckMany(ctx, o, []string{"+12125551234"}); err != nil { // warm the connection
		t.Fatal(err)
	}
	for _, tc := range []struct {
		region string
		in     []string
		want   []dnc.Decision
	}{
		{"GB", []string{"020 7946 0958", "(212) 555-1234", "+1 212 555 1234", "020 7946 0959"}, []dnc.Decision{
			{Skip: true, Reason: dnc.ReasonListed, Number: "+442079460958"},
			{Skip: true, Reason: dnc.ReasonInvalidNumber}, // not a GB national number
			{Skip: true, Reason: dnc.ReasonListed, Number: "+12125551234"},
			{Reason: dnc.ReasonNotListed, Number: "+442079460959"},
		}},
		{"us", []string{"(212) 555-1234", "1 212 555 1234", "020 7946 0958"}, []dnc.Decision{
			{Skip: true, Reason: dnc.ReasonListed, Number: "+12125551234"},
			{Skip: true, Reason: dnc.ReasonListed, Number: "+12125551234"},
			{Skip: true, Reason: dnc.ReasonInvalidNumber},
		}},
	} {
		before := cnt.trips.Load()
		ds, _ := e.CheckManyIn(ctx, o, tc.region, tc.in)
		if trips := cnt.trips.Load() - before; trips != 1 {
			t.Errorf("CheckManyIn(%s) took %d round trips; want 1", tc.region, trips)
		}
		if fmt.Sprint(ds) != fmt.Sprint(tc.want) {
			t.Errorf("CheckManyIn(%s, %q) =\n%+v\nwant\n%+v", tc.region, tc.in, ds, tc.want)
		}
	}
	before := cnt.trips.Load()
	ds, err := e.CheckManyIn(ctx, o, "XX", []string{"+12125551234"})
	if !errors.Is(err, dnc.ErrInvalidArgument) || !errors.Is(err, phone.ErrUnknownRegion) ||
		len(ds) != 1 || !ds[0].Skip || ds[0].Reason != dnc.ReasonInvalidNumber {
		t.Errorf("CheckManyIn(XX) = %+v, %v; want skip, invalid number, ErrInvalidArgument", ds, err)
	}
	if cnt.trips.Load() != before {
		t.Errorf("CheckManyIn with an unknown region reached Redis")
	}
}

func testEntries(t *testing.T, rdb redis.UniversalClient) {
	ctx, a, b := ctxT(t), org(t), org(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 123_000_000, time.UTC)
	e := newEnforcer(t, rdb, dnc.WithClock(func() time.Time { return now }))
	meta := dnc.Meta{Type: "complaint", BatchID: "batch-7", RequestUUID: "0b6f7c52-5e2f-4c8e-9d7e-1f2a3b4c5d6e"}
	got, err := e.AddEntry(ctx, a, "12125551234", meta) // "1" + national: country code 1 under US
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != "+12125551234" || got.Type != meta.Type || got.BatchID != meta.BatchID ||
		got.RequestUUID != meta.RequestUUID || !got.CreatedAt.Equal(now) || len(got.ID) != 24 {
		t.Fatalf("AddEntry = %+v", got)
	}
	if _, err := e.AddEntry(ctx, a, "(212) 555-1234", dnc.Meta{Type: "other"}); !errors.Is(err, dnc.ErrExists) {
		t.Fatalf("AddEntry of a listed number = %v; want ErrExists", err)
	}
	if again, err := e.Entry(ctx, a, "212.555.1234"); err != nil || again != got {
		t.Fatalf("Entry = %+v, %v; want %+v (unchanged by the refused add)", again, err, got)
	}
	if byID, err := e.EntryByID(ctx, a, got.ID); err != nil || byID != got {
		t.Fatalf("EntryByID = %+v, %v", byID, err)
	}
	d, _ := e.Check(ctx, a, "+12125551234")
	if d.Entry == nil || *d.Entry != got {
		t.Fatalf("Check entry = %+v; want %+v", d.Entry, got)
	}
	if _, err := e.AddEntry(ctx, a, "+14155552671", dnc.Meta{Type: strings.Repeat("x", dnc.MaxMetaLen+1)}); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Fatalf("AddEntry with an oversize type = %v", err)
	}
	mustSkip(t, e, a, "+14155552671", false)

	// Another org can neither see nor delete a's entry by its id.
	if _, err := e.EntryByID(ctx, b, got.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Fatalf("EntryByID from org b = %v; want ErrNotFound", err)
	}
	if _, err := e.DeleteByID(ctx, b, got.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Fatalf("DeleteByID from org b = %v; want ErrNotFound", err)
	}
	mustSkip(t, e, a, "+12125551234", true)
	for _, id := range []string{"", "xyz", strings.ToUpper(got.ID), got.ID + "0", "../" + got.ID[3:]} {
		if _, err := e.DeleteByID(ctx, a, id); !errors.Is(err, dnc.ErrInvalidID) {
			t.Errorf("DeleteByID(%q) = %v; want ErrInvalidID", id, err)
		}
	}
	if n, err := e.DeleteByID(ctx, a, got.ID); err != nil || n != "+12125551234" {
		t.Fatalf("DeleteByID = %q, %v", n, err)
	}
	mustSkip(t, e, a, "+12125551234", false)
	if _, err := e.DeleteByID(ctx, a, got.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Fatalf("second DeleteByID = %v; want ErrNotFound", err)
	}
	if _, err := e.Entry(ctx, a, "+12125551234"); !errors.Is(err, dnc.ErrNotFound) {
		t.Fatalf("Entry after delete = %v; want ErrNotFound", err)
	}
	// Re-adding gets a new id; Remove by number drops the id too.
	again, err := e.AddEntry(ctx, a, "+12125551234", meta)
	if err != nil || again.ID == got.ID {
		t.Fatalf("re-add = %+v, %v; want a new id", again, err)
	}
	if _, err := e.Remove(ctx, a, "212-555-1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.EntryByID(ctx, a, again.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Fatalf("EntryByID after Remove = %v; want ErrNotFound", err)
	}
}

func testListAndSearch(t *testing.T, rdb redis.UniversalClient) {
	ctx, o := ctxT(t), org(t)
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnforcer(t, rdb, dnc.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}))
	numbers := []string{"+12125550100", "+12125550101", "+12125550102", "+13125550103", "+442079460104"}
	types := []string{"complaint", "customer_request", "Complaint", "litigator", "customer_request"}
	batches := []string{"b-1", "b-1", "B-2", "", "b-2"}
	for i, n := range numbers {
		if _, err := e.AddEntry(ctx, o, n, dnc.Meta{Type: types[i], BatchID: batches[i], RequestUUID: fmt.Sprintf("REQ-%d-abc", i)}); err != nil {
			t.Fatal(err)
		}
	}
	const uuid = "123E4567-E89B-12D3-A456-426614174000"
	if _, err := e.AddEntry(ctx, o, "+12125550105", dnc.Meta{RequestUUID: uuid}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Remove(ctx, o, "+12125550105"); n != 1 || err != nil {
		t.Fatalf("Remove = %d, %v", n, err)
	}
	if _, err := e.AddEntry(ctx, o, "+12125550106", dnc.Meta{RequestUUID: uuid}); err != nil {
		t.Fatal(err)
	}
	page := func(opts dnc.ListOptions) (nums []string, total int64) {
		t.Helper()
		p, err := e.List(ctx, o, opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		for _, en := range p.Entries {
			nums = append(nums, en.Number)
		}
		return nums, p.Total
	}
	check := func(opts dnc.ListOptions, want []string, wantTotal int64) {
		t.Helper()
		got, total := page(opts)
		if fmt.Sprint(got) != fmt.Sprint(want) || total != wantTotal {
			t.Errorf("List(%+v) = %v (total %d); want %v (total %d)", opts, got, total, want, wantTotal)
		}
	}
	check(dnc.ListOptions{Limit: 2}, []string{"+12125550106", "+442079460104"}, 6)
	check(dnc.ListOptions{Offset: 2, Limit: 2}, []string{"+13125550103", "+12125550102"}, 6)
	check(dnc.ListOptions{Offset: 5, Limit: 2}, []string{"+12125550100"}, 6)
	check(dnc.ListOptions{Offset: 9, Limit: 2}, nil, 6)
	// type, batchId and requestUUID: equal in any case
	check(dnc.ListOptions{Limit: 10, Search: "COMPLAINT"}, []string{"+12125550102", "+12125550100"}, 2)
	check(dnc.ListOptions{Limit: 1, Offset: 1, Search: "Customer_Request"}, []string{"+12125550101"}, 2)
	check(dnc.ListOptions{Limit: 10, Search: "b-2"}, []string{"+442079460104", "+12125550102"}, 2)
	check(dnc.ListOptions{Limit: 10, Search: "req-3-ABC"}, []string{"+13125550103"}, 1)
	check(dnc.ListOptions{Limit: 10, Search: strings.ToLower(uuid)}, []string{"+12125550106"}, 1)
	check(dnc.ListOptions{Limit: 10, Search: "req-3"}, nil, 0)
	check(dnc.ListOptions{Limit: 10, Search: "customer"}, nil, 0)
	// a number's leading digits, in any format, with or without the country code: in
	// number order (shorter numbers first)
	check(dnc.ListOptions{Limit: 10, Search: "+1212"}, []string{"+12125550100", "+12125550101", "+12125550102", "+12125550106"}, 4)
	check(dnc.ListOptions{Limit: 2, Offset: 1, Search: "+1212"}, []string{"+12125550101", "+12125550102"}, 4)
	check(dnc.ListOptions{Limit: 10, Search: "(312) 555-01"}, []string{"+13125550103"}, 1)
	check(dnc.ListOptions{Limit: 10, Search: "212555010"}, []string{"+12125550100", "+12125550101", "+12125550102", "+12125550106"}, 4)
	check(dnc.ListOptions{Limit: 10, Search: "+"}, nil, 0)
	check(dnc.ListOptions{Limit: 10, Search: "+1"}, []string{"+12125550100", "+12125550101", "+12125550102", "+12125550106", "+13125550103"}, 5)
	check(dnc.ListOptions{Limit: 10, Search: "4"}, []string{"+442079460104"}, 1) // "+4", then "+14" under region US
	check(dnc.ListOptions{Limit: 10, Search: "+44 20 7946"}, []string{"+442079460104"}, 1)
	check(dnc.ListOptions{Limit: 10, Search: "+1 212-555-0102"}, []string{"+12125550102"}, 1)
	check(dnc.ListOptions{Limit: 10, Search: "0104"}, nil, 0)
	check(dnc.ListOptions{Limit: 10, Search: "nothing-matches"}, nil, 0)
	for _, bad := range []dnc.ListOptions{{Limit: 0}, {Limit: 1001}, {Offset: -1, Limit: 1}} {
		if _, err := e.List(ctx, o, bad); !errors.Is(err, dnc.ErrInvalidArgument) {
			t.Errorf("List(%+v) = %v; want ErrInvalidArgument", bad, err)
		}
	}
	p, _ := e.List(ctx, o, dnc.ListOptions{Limit: 1})
	if en := p.Entries[0]; en.RequestUUID != uuid || en.ID == "" ||
		!en.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 7, 0, time.UTC)) {
		t.Errorf("List entry = %+v", en)
	}
	p, _ = e.List(ctx, o, dnc.ListOptions{Limit: 1, Offset: 1})
	if en := p.Entries[0]; en.Type != "customer_request" || en.BatchID != "b-2" || en.RequestUUID != "REQ-4-abc" ||
		!en.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC)) {
		t.Errorf("List entry = %+v", en)
	}
}

func testScan(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	want := map[string]bool{}
	var nums []string
	for i := range 1200 {
		n := fmt.Sprintf("+1312555%04d", i)
		nums = append(nums, n)
		want[n] = true
	}
	if _, err := e.Add(ctx, o, nums...); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var cursor uint64
	for calls := 0; ; calls++ {
		page, next, err := e.Scan(ctx, o, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page {
			got[n] = true
		}
		if cursor = next; cursor == 0 {
			break
		}
		if calls > 1000 {
			t.Fatal("Scan does not end")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("Scan returned %d distinct numbers; want %d", len(got), len(want))
	}
	for n := range want {
		if !got[n] {
			t.Fatalf("Scan missed %s", n)
		}
	}
}

func testEndedContext(t *testing.T, rdb redis.UniversalClient) {
	rdb, cnt := hooked(rdb)
	e, o := newEnforcer(t, rdb), org(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := cnt.trips.Load()
	d, err := e.Check(ctx, o, "+14155552671")
	if !d.Skip || d.Reason != dnc.ReasonUnavailable || !errors.Is(err, dnc.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with an ended context = %+v, %v; want skip, unavailable, context.Canceled", d, err)
	}
	if cnt.trips.Load() != before {
		t.Errorf("Check with an ended context reached Redis")
	}
	ds, err := e.CheckMany(ctx, o, []string{"+14155552671", "x"})
	if !errors.Is(err, dnc.ErrUnavailable) || !ds[0].Skip || ds[0].Reason != dnc.ReasonUnavailable || ds[1].Reason != dnc.ReasonInvalidNumber {
		t.Fatalf("CheckMany with an ended context = %+v, %v", ds, err)
	}
}

func testInjectedFailure(t *testing.T, rdb redis.UniversalClient) {
	boom := errors.New("injected: connection reset")
	rdb, cnt := hooked(rdb)
	o, ctx := org(t), ctxT(t)
	closed := newEnforcer(t, rdb)
	open := newEnforcer(t, rdb, dnc.WithFailOpen())
	if _, err := closed.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, rdb)
	cnt.fail(boom)
	defer cnt.fail(nil)
	for _, n := range []string{"+14155552671", "+14155552672"} {
		d, err := closed.Check(ctx, o, n)
		if !d.Skip || d.Reason != dnc.ReasonUnavailable || d.Number != n || !errors.Is(err, dnc.ErrUnavailable) || !errors.Is(err, boom) {
			t.Errorf("fail-closed Check(%s) on a failing Redis = %+v, %v; want skip, unavailable, the cause", n, d, err)
		}
		d, err = open.Check(ctx, o, n)
		if d.Skip || d.Reason != dnc.ReasonUnavailable || !errors.Is(err, boom) {
			t.Errorf("fail-open Check(%s) on a failing Redis = %+v, %v; want dial, unavailable, the cause", n, d, err)
		}
	}
	if skip, err := open.ShouldSkip(ctx, o, "555-0100"); !skip || !errors.Is(err, dnc.ErrInvalidNumber) {
		t.Errorf("fail-open ShouldSkip(invalid) = %v, %v; want true: fail-open covers storage only", skip, err)
	}
	if on, err := closed.Enabled(ctx, o); !on || !errors.Is(err, boom) {
		t.Errorf("Enabled on a failing Redis = %v, %v; want true and the cause", on, err)
	}
	if err := closed.SetEnabled(ctx, o, false); !errors.Is(err, dnc.ErrUnavailable) {
		t.Errorf("SetEnabled on a failing Redis = %v", err)
	}
	if n, err := closed.Add(ctx, o, "+14155552673"); n != 0 || !errors.Is(err, dnc.ErrUnavailable) {
		t.Errorf("Add on a failing Redis = %d, %v", n, err)
	}
	if _, err := closed.List(ctx, o, dnc.ListOptions{Limit: 10}); !errors.Is(err, dnc.ErrUnavailable) {
		t.Errorf("List on a failing Redis = %v", err)
	}
	ds, err := closed.CheckMany(ctx, o, []string{"+14155552671", "+14155552672"})
	if !errors.Is(err, boom) || !ds[0].Skip || !ds[1].Skip || ds[1].Reason != dnc.ReasonUnavailable {
		t.Errorf("CheckMany on a failing Redis = %+v, %v", ds, err)
	}
	cnt.fail(nil)
	if after := snapshot(t, rdb); after != before {
		t.Errorf("failed calls changed Redis:\nbefore %s\nafter %s", before, after)
	}
	mustSkip(t, closed, o, "+14155552671", true)
}

func testConcurrent(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	// The listed half stays listed throughout; the other half is added and removed
	// concurrently; the toggle is never touched, so a listed number must always be
	// skipped and a never-added number never.
	const workers, per = 8, 50
	for w := range workers {
		for i := range per {
			if _, err := e.Add(ctx, o, fmt.Sprintf("+1415555%02d%02d", w, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*per*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				listed := fmt.Sprintf("(415) 555-%02d%02d", w, i)
				churn := fmt.Sprintf("+1312555%02d%02d", w, i)
				never := fmt.Sprintf("+1646555%02d%02d", w, i)
				if _, err := e.Add(ctx, o, churn); err != nil {
					errs <- err
				}
				if skip, err := e.ShouldSkip(ctx, o, listed); !skip || err != nil {
					errs <- fmt.Errorf("listed %s: skip %v, %v", listed, skip, err)
				}
				if skip, err := e.ShouldSkip(ctx, o, never); skip || err != nil {
					errs <- fmt.Errorf("never listed %s: skip %v, %v", never, skip, err)
				}
				if n, err := e.Remove(ctx, o, churn); n != 1 || err != nil {
					errs <- fmt.Errorf("remove %s: %d, %v", churn, n, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c, err := e.Count(ctx, o); c != workers*per || err != nil {
		t.Errorf("Count = %d, %v; want %d", c, err, workers*per)
	}
}

// testStaleID: the id of a removed entry never reads or deletes the entry that the
// number gets when it is listed again, nor does another org's id.
func testStaleID(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	old, err := e.AddEntry(ctx, o, "+14155552671", dnc.Meta{Type: "old"})
	if err != nil {
		t.Fatal(err)
	}
	other := org(t)
	theirs, err := e.AddEntry(ctx, other, "+14155552671", dnc.Meta{Type: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	if theirs.ID == old.ID {
		t.Errorf("two orgs' entries of one number share the id %s", old.ID)
	}
	if got, err := e.EntryByID(ctx, o, theirs.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("EntryByID(another org's id) = %+v, %v; want ErrNotFound", got, err)
	}
	if n, err := e.DeleteByID(ctx, o, theirs.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("DeleteByID(another org's id) = %q, %v; want ErrNotFound", n, err)
	}
	if n, err := e.Remove(ctx, o, "+14155552671"); n != 1 || err != nil {
		t.Fatalf("Remove = %d, %v", n, err)
	}
	fresh, err := e.AddEntry(ctx, o, "+14155552671", dnc.Meta{Type: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.EntryByID(ctx, o, old.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("EntryByID(stale id) = %+v, %v; want ErrNotFound", got, err)
	}
	if n, err := e.DeleteByID(ctx, o, old.ID); !errors.Is(err, dnc.ErrNotFound) {
		t.Errorf("DeleteByID(stale id) = %q, %v; want ErrNotFound", n, err)
	}
	mustSkip(t, e, o, "+14155552671", true)
	if got, err := e.EntryByID(ctx, o, fresh.ID); err != nil || got != fresh {
		t.Errorf("EntryByID(fresh id) = %+v, %v; want %+v", got, err, fresh)
	}
	// A page far past the end is empty, whatever the offset.
	p, err := e.List(ctx, o, dnc.ListOptions{Offset: 1 << 60, Limit: 10})
	if err != nil || len(p.Entries) != 0 || p.Total != 1 {
		t.Errorf("List(offset 2^60) = %+v, %v; want no entries, total 1", p, err)
	}
}

// recorder is an Observer that records the decisions and errors it is told of.
type recorder struct {
	mu   sync.Mutex
	errs []error
	ds   []dnc.Decision
}

func (r *recorder) Decided(org string, d dnc.Decision, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds, r.errs = append(r.ds, d), append(r.errs, err)
}

// testObserver: each decision reaches the Observer with its own error.
func testObserver(t *testing.T, rdb redis.UniversalClient) {
	rec := &recorder{}
	e, o, ctx := newEnforcer(t, rdb, dnc.WithObserver(rec)), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	in := []string{"junk", "+14155552671", "911", "+14155552672"}
	if _, err := e.CheckMany(ctx, o, in); err == nil {
		t.Fatal("CheckMany with invalid numbers returned no error")
	}
	if _, err := e.Check(ctx, o, "555-0100"); err == nil {
		t.Fatal("Check(555-0100) returned no error")
	}
	if len(rec.ds) != 5 {
		t.Fatalf("observer saw %d decisions; want 5", len(rec.ds))
	}
	wantReason := []dnc.Reason{dnc.ReasonInvalidNumber, dnc.ReasonListed, dnc.ReasonInvalidNumber, dnc.ReasonNotListed, dnc.ReasonInvalidNumber}
	wantInput := []string{"junk", "", "911", "", "555-0100"}
	for i, d := range rec.ds {
		if d.Reason != wantReason[i] {
			t.Errorf("decision %d reason %s; want %s", i, d.Reason, wantReason[i])
		}
		var ne *dnc.NumberError
		switch {
		case wantInput[i] == "" && rec.errs[i] != nil:
			t.Errorf("decision %d error %v; want nil", i, rec.errs[i])
		case wantInput[i] != "" && (!errors.As(rec.errs[i], &ne) || ne.Input != wantInput[i]):
			t.Errorf("decision %d error %v; want the NumberError of %q", i, rec.errs[i], wantInput[i])
		}
	}
}

// saw reports whether any decision's error matched target.
func (r *recorder) saw(target error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

package dnc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/redis/go-redis/v9"
)

// Import, Export and Scrub: run by the behaviour suite on every backend.

// listOf returns org's entries oldest first, without ids and creation times, as
// "number type batch uuid" lines.
func listOf(t *testing.T, e *dnc.Enforcer, org string) []string {
	t.Helper()
	var out []string
	for off := 0; ; off += 1000 {
		p, err := e.List(ctxT(t), org, dnc.ListOptions{Offset: off, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range p.Entries {
			line := strings.Join([]string{en.Number, en.Type, en.BatchID, en.RequestUUID}, " ")
			if !en.ExpiresAt.IsZero() {
				line += " expires " + en.ExpiresAt.Format(time.RFC3339)
			}
			out = append(out, line)
		}
		if len(p.Entries) < 1000 {
			break
		}
	}
	slices.Reverse(out)
	return out
}

func sameReport(t *testing.T, name string, got dnc.ImportReport, want dnc.ImportReport) {
	t.Helper()
	errs := got.Errors
	got.Errors, want.Errors = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: report %+v; want %+v (errors %v)", name, got, want, errs)
	}
}

const importCSV = "\xef\xbb\xbfphone,name,Type,batch_id,requestUUID\r\n" +
	"not a number,Bad First,,,\r\n" + // line 2: invalid
	"(212) 555-1234,Al,complaint,b1,r-1\r\n" + // line 3
	"# a comment\r\n" + // line 4: a row of its own once the data has begun: invalid
	"\r\n" +
	"+1 212-555-1234,Al again,complaint,b1,r-1\r\n" + // line 6: duplicate in another format
	"212.555.0199,\"Smith, Jo\",,b2,\r\n" + // line 7
	"415 555 2671,Existing,,,\r\n" + // line 8: listed before the import
	"2125550123,Bad meta,\x07bell,,\r\n" + // line 9: metadata with a control character
	"\"2125550100,Broken quote,,,\r\n" + // line 10: unreadable
	"(646) 555-0134,Cy,customer_request,b3,123e4567-e89b-12d3-a456-426614174000\r\n" + // line 11
	"2125551234,Al thrice,other,b9,\r\n" + // line 12: duplicate, metadata of the first stays
	"555-0100,Bad last,,,\r\n" // line 13: invalid

func testImport(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+14155552671   ",
		"+12125551234 complaint b1 r-1",
		"+12125550199  b2 ",
		"+16465550134 customer_request b3 123e4567-e89b-12d3-a456-426614174000",
	}
	for _, chunk := range []int{0, 1, 3} { // duplicates within a chunk and across chunks
		o := org(t)
		if _, err := e.Add(ctx, o, "+14155552671"); err != nil {
			t.Fatal(err)
		}
		var progress []int64
		rep, err := e.Import(ctx, o, strings.NewReader(importCSV), dnc.ImportOptions{Chunk: chunk, Progress: func(r dnc.ImportReport) { progress = append(progress, r.Line) }})
		if err != nil {
			t.Fatalf("chunk %d: Import: %v", chunk, err)
		}
		sameReport(t, fmt.Sprint("chunk ", chunk), rep, dnc.ImportReport{Rows: 11, Added: 3, Existing: 1, Invalid: 5, Duplicates: 2, Line: 13})
		var lines []int64
		for _, re := range rep.Errors {
			lines = append(lines, re.Line)
		}
		if !slices.Equal(lines, []int64{2, 4, 9, 10, 13}) {
			t.Errorf("chunk %d: invalid rows at lines %v; want 2, 4, 9, 10, 13", chunk, lines)
		}
		if len(progress) == 0 || progress[len(progress)-1] != 13 || !slices.IsSorted(progress) {
			t.Errorf("chunk %d: progress at lines %v", chunk, progress)
		}
		if got := listOf(t, e, o); !slices.Equal(got, want) {
			t.Errorf("chunk %d: list %q; want %q", chunk, got, want)
		}
		// Running it again changes nothing.
		before := snapshot(t, rdb)
		rep, err = e.Import(ctx, o, strings.NewReader(importCSV), dnc.ImportOptions{Chunk: chunk})
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, fmt.Sprint("chunk ", chunk, ", again"), rep, dnc.ImportReport{Rows: 11, Existing: 6, Invalid: 5, Line: 13})
		if snapshot(t, rdb) != before {
			t.Errorf("chunk %d: importing the same file again changed Redis", chunk)
		}
	}
	for _, re := range mustImportErrors(t, e, o) {
		if strings.ContainsRune(re.Text, 7) {
			t.Errorf("row text %q holds a control character", re.Text)
		}
	}
}

func mustImportErrors(t *testing.T, e *dnc.Enforcer, o string) []dnc.RowError {
	t.Helper()
	rep, err := e.Import(ctxT(t), o, strings.NewReader(importCSV), dnc.ImportOptions{MaxRowErrors: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 3 || rep.Invalid != 5 {
		t.Fatalf("MaxRowErrors 3: %d listed, %d counted; want 3 and 5", len(rep.Errors), rep.Invalid)
	}
	var ne *dnc.NumberError
	var me *dnc.MetaError
	if !errors.As(rep.Errors[0].Err, &ne) || rep.Errors[0].Text != "not a number,Bad First,,," || rep.Errors[1].Text != "# a comment" || !errors.As(rep.Errors[2].Err, &me) {
		t.Fatalf("row errors %v", rep.Errors)
	}
	return rep.Errors
}

func testImportBadOnly(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	before := snapshot(t, rdb)
	rep, err := e.Import(ctx, o, strings.NewReader("junk\n555-0100\n911\n"), dnc.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "bad only", rep, dnc.ImportReport{Rows: 3, Invalid: 3, Line: 3})
	if snapshot(t, rdb) != before {
		t.Error("a file of invalid rows wrote to Redis")
	}
	// Refused before anything is read or written.
	for _, c := range []struct {
		org, in string
		o       dnc.ImportOptions
		want    error
	}{
		{"", "2125551234\n", dnc.ImportOptions{}, dnc.ErrInvalidOrg},
		{o, "name,city\nAl,Paris\n", dnc.ImportOptions{}, dnc.ErrInvalidArgument},
		{o, "2125551234\n", dnc.ImportOptions{Region: "XX"}, dnc.ErrInvalidArgument},
		{o, "2125551234\n", dnc.ImportOptions{Meta: dnc.Meta{Type: "a\nb"}}, dnc.ErrInvalidArgument},
		{o, "2125551234\n", dnc.ImportOptions{Chunk: -1}, dnc.ErrInvalidArgument},
	} {
		if _, err := e.Import(ctx, c.org, strings.NewReader(c.in), c.o); !errors.Is(err, c.want) {
			t.Errorf("Import(%q, %q, %+v) = %v; want %v", c.org, c.in, c.o, err, c.want)
		}
	}
	if snapshot(t, rdb) != before {
		t.Error("a refused import wrote to Redis")
	}
}

func testImportDelete(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+12125551234", "+12125550199", "+12125550100"); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Import(ctx, o, strings.NewReader("2125551234\n(212) 555-1234\n6465550134\n"), dnc.ImportOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "delete", rep, dnc.ImportReport{Rows: 3, Removed: 1, NotListed: 2, Line: 3})
	// A change list: rows apply in order, whatever the chunk.
	changes := "number\taction\n" +
		"2125550199\tdelete\n" + // removed
		"2125550199\tadd\n" + // listed again
		"4155552671\tadd\n" + // listed
		"4155552671\tDELETE\n" + // and removed
		"2125550100\tfrobnicate\n" + // invalid action
		"6465550134\t\n" // no action: add (the option's default)
	for _, chunk := range []int{0, 2} {
		o := org(t)
		if _, err := e.Add(ctx, o, "+12125550199", "+12125550100"); err != nil {
			t.Fatal(err)
		}
		rep, err := e.Import(ctx, o, strings.NewReader(changes), dnc.ImportOptions{Chunk: chunk})
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, fmt.Sprint("changes, chunk ", chunk), rep, dnc.ImportReport{Rows: 6, Added: 3, Removed: 2, Invalid: 1, Line: 7})
		if got, want := listOf(t, e, o), []string{"+12125550100   ", "+12125550199   ", "+16465550134   "}; !slices.Equal(got, want) {
			t.Errorf("chunk %d: list %q; want %q", chunk, got, want)
		}
	}
}

func testImportFormats(t *testing.T, rdb redis.UniversalClient) {
	e, ctx := newEnforcer(t, rdb), ctxT(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("# FTC download\n201,2000000\n201,2000001\n"))
	_ = zw.Close()
	for _, c := range []struct {
		name string
		in   []byte
		o    dnc.ImportOptions
		want []string
	}{
		{"ftc pairs, gzip", gz.Bytes(), dnc.ImportOptions{Region: "GB"}, []string{"+12012000000", "+12012000001"}},
		{"ten digits a line", []byte("2012000000\r\n2012000001"), dnc.ImportOptions{}, []string{"+12012000000", "+12012000001"}},
		{"column by index", []byte("a;b\n2125551234;2012000000\n"), dnc.ImportOptions{Column: "2"}, []string{"+12012000000"}},
		{"region", []byte("020 7946 0958\n"), dnc.ImportOptions{Region: "gb"}, []string{"+442079460958"}},
		{"default metadata", []byte("phone,type\n2125551234,\n2125550199,complaint\n"), dnc.ImportOptions{Meta: dnc.Meta{Type: "customer_request", BatchID: "upload-7"}},
			[]string{"+12125551234 customer_request upload-7 ", "+12125550199 complaint upload-7 "}},
	} {
		o := org(t)
		if _, err := e.Import(ctx, o, bytes.NewReader(c.in), c.o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := listOf(t, e, o)
		for i := range got {
			got[i] = strings.TrimRight(got[i], " ")
		}
		for i := range c.want {
			c.want[i] = strings.TrimRight(c.want[i], " ")
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: list %q; want %q", c.name, got, c.want)
		}
	}
}

// An import stopped part-way (its context ended) says how far it got; running it again
// completes the list as one uninterrupted run would have.
func testImportInterrupted(t *testing.T, rdb redis.UniversalClient) {
	e, ctx := newEnforcer(t, rdb), ctxT(t)
	var in strings.Builder
	for i := range 50 {
		fmt.Fprintf(&in, "+1 212 555 %04d\n", i)
	}
	whole := org(t)
	if _, err := e.Import(ctx, whole, strings.NewReader(in.String()), dnc.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	o := org(t)
	stopped, cancel := context.WithCancel(ctx)
	rep, err := e.Import(stopped, o, strings.NewReader(in.String()), dnc.ImportOptions{Chunk: 20, Progress: func(dnc.ImportReport) { cancel() }})
	if !errors.Is(err, context.Canceled) || rep.Line != 20 || rep.Added != 20 || rep.Rows != 20 {
		t.Fatalf("stopped import: %+v, %v; want 20 rows written, line 20, context.Canceled", rep, err)
	}
	if n, _ := e.Count(ctx, o); n != 20 {
		t.Fatalf("count after the stop %d; want 20", n)
	}
	// An input that fails just after a chunk: the report says how far it got.
	failing := io.MultiReader(strings.NewReader(in.String()[:strings.Index(in.String(), "0020\n")]), iotest.ErrReader(errors.New("disk gone")))
	rep, err = e.Import(ctx, org(t), failing, dnc.ImportOptions{Chunk: 10})
	if err == nil || rep.Line != 20 || rep.Added != 20 {
		t.Fatalf("import of a failing input: %+v, %v; want 20 rows applied, line 20, an error", rep, err)
	}
	// A long run of bad rows is read in chunks too: progress goes on, memory stays bounded.
	calls := 0
	rep, err = e.Import(ctx, org(t), strings.NewReader(strings.Repeat("junk\n", 95)+"2125551234\n"), dnc.ImportOptions{Chunk: 10, Progress: func(dnc.ImportReport) { calls++ }})
	if err != nil || calls != 10 || rep.Invalid != 95 || rep.Added != 1 || rep.Line != 96 {
		t.Fatalf("bad rows: %+v, %v, %d progress calls; want 10 calls", rep, err, calls)
	}
	// An input that stops sending (a pipe left open) does not hold up a stop.
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, in.String()[:strings.Index(in.String(), "0020\n")+5]) }()
	waiting, cancel2 := context.WithCancel(ctx)
	rep, err = e.Import(waiting, org(t), pr, dnc.ImportOptions{Chunk: 20, Progress: func(dnc.ImportReport) { go cancel2() }})
	if !errors.Is(err, context.Canceled) || rep.Added != 20 {
		t.Fatalf("import stopped while its input waits: %+v, %v", rep, err)
	}
	rep, err = e.Import(ctx, o, strings.NewReader(in.String()), dnc.ImportOptions{Chunk: 20})
	if err != nil || rep.Added != 30 || rep.Existing != 20 {
		t.Fatalf("re-run: %+v, %v; want 30 added, 20 existing", rep, err)
	}
	if got, want := listOf(t, e, o), listOf(t, e, whole); !slices.Equal(got, want) {
		t.Fatalf("re-run list %q; want %q", got, want)
	}
}

func testExportRoundTrip(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	soon := time.Now().Add(90 * 24 * time.Hour)
	metas := []dnc.Meta{{}, {Type: "complaint", BatchID: "a,b", ExpiresAt: soon}, {Type: `say "no"`, RequestUUID: "123E4567-E89B-12D3-A456-426614174000"}, {BatchID: "b", RequestUUID: strings.Repeat("x", 60)}, {Type: " lead", BatchID: "trail ", ExpiresAt: soon.Add(time.Hour)}}
	for i := range 300 {
		if _, err := e.AddEntry(ctx, o, fmt.Sprintf("+1 646 555 %04d", i), metas[i%len(metas)]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Remove(ctx, o, "+16465550007", "+16465550100"); err != nil {
		t.Fatal(err)
	}
	var csv, lines bytes.Buffer
	n, err := e.Export(ctx, o, &csv, dnc.ExportOptions{})
	if err != nil || n != 298 {
		t.Fatalf("Export = %d, %v; want 298", n, err)
	}
	if first, _, _ := strings.Cut(csv.String(), "\n"); first != "number,type,batchId,requestUUID,expiresAt,createdAt" {
		t.Fatalf("header %q", first)
	}
	if n, err := e.Export(ctx, o, &lines, dnc.ExportOptions{Format: "lines"}); err != nil || n != 298 || !strings.HasPrefix(lines.String(), "+16465550000\n+16465550001\n") {
		t.Fatalf("Export lines = %d, %v, %.40q", n, err, lines.String())
	}
	copyOrg := org(t)
	rep, err := e.Import(ctx, copyOrg, bytes.NewReader(csv.Bytes()), dnc.ImportOptions{})
	if err != nil || rep.Added != 298 || rep.Invalid != 0 {
		t.Fatalf("Import of the export: %+v, %v", rep, err)
	}
	if got, want := listOf(t, e, copyOrg), listOf(t, e, o); !slices.Equal(got, want) {
		t.Fatalf("round trip: %d entries %q...; want %d %q...", len(got), got[:3], len(want), want[:3])
	}
	// An expiresAt column: RFC 3339, or a bad row; a customer request kept too short is one too.
	third := org(t)
	file := "number,type,expiresAt\n+16465559001,,2031-01-02T15:04:05Z\n+16465559002,,tomorrow\n+16465559003,customer_request,2031-01-02T15:04:05Z\n+16465559004,,\n"
	rep, err = e.Import(ctx, third, strings.NewReader(file), dnc.ImportOptions{})
	if err != nil || rep.Added != 2 || rep.Invalid != 2 {
		t.Fatalf("Import with expiresAt: %+v, %v; want 2 added, 2 invalid", rep, err)
	}
	if got, want := listOf(t, e, third), []string{"+16465559001    expires 2031-01-02T15:04:05Z", "+16465559004   "}; !slices.Equal(got, want) {
		t.Errorf("list = %q; want %q", got, want)
	}
	if _, err := e.Export(ctx, o, &csv, dnc.ExportOptions{Format: "xml"}); !errors.Is(err, dnc.ErrInvalidArgument) {
		t.Errorf("Export format xml: %v", err)
	}
	if n, err := e.Export(ctx, org(t), &lines, dnc.ExportOptions{Format: "lines"}); err != nil || n != 0 {
		t.Errorf("Export of an empty org = %d, %v", n, err)
	}
}

const callList = "id,Phone,name\n" +
	"1,(212) 555-1234,Al\n" + // listed
	"2,(646) 555-0134,\"Smith, Jo\"\n" + // dialable
	"3,911,Short\n" + // invalid number
	"# comment\n" + // a row once the data has begun: invalid_row
	"4,\"+44 20 7946 0958\",Li\n" + // listed (international)
	"5,\"2125550199,Broken\n" + // unreadable
	"6,+1 415 555 2671,Bo\n" // dialable

func testScrub(t *testing.T, rdb redis.UniversalClient) {
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+12125551234", "+442079460958"); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{0, 2} {
		var dial, skip bytes.Buffer
		rep, err := e.Scrub(ctx, o, strings.NewReader(callList), &dial, &skip, dnc.ScrubOptions{Chunk: chunk})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 7 || rep.Dialable != 2 || rep.Skipped != 5 || rep.Listed != 2 || rep.Invalid != 3 || rep.Disabled || rep.Line != 8 || len(rep.Errors) != 3 {
			t.Errorf("chunk %d: report %+v", chunk, rep)
		}
		if want := "id,Phone,name\n2,(646) 555-0134,\"Smith, Jo\"\n6,+1 415 555 2671,Bo\n"; dial.String() != want {
			t.Errorf("chunk %d: dialable\n%s\nwant\n%s", chunk, dial.String(), want)
		}
		want := "id,Phone,name,dnc_reason\n1,(212) 555-1234,Al,listed\n3,911,Short,invalid_number\n\"# comment\",,,invalid_row\n4,\"+44 20 7946 0958\",Li,listed\n\"5,\"\"2125550199,Broken\",,,invalid_row\n"
		if skip.String() != want {
			t.Errorf("chunk %d: skipped\n%s\nwant\n%s", chunk, skip.String(), want)
		}
	}
	// A row shorter than the header keeps dnc_reason in its column.
	var short bytes.Buffer
	if _, err := e.Scrub(ctx, o, strings.NewReader("name,phone,notes\nBob,2125551234\n"), io.Discard, &short, dnc.ScrubOptions{}); err != nil {
		t.Fatal(err)
	}
	if short.String() != "name,phone,notes,dnc_reason\nBob,2125551234,,listed\n" {
		t.Errorf("short row: skipped %q", short.String())
	}
	// One number a line, no header: the outputs have none either.
	var dial, skip bytes.Buffer
	if _, err := e.Scrub(ctx, o, strings.NewReader("+1 646-555-0134\n020 7946 0958\n"), &dial, &skip, dnc.ScrubOptions{Region: "GB"}); err != nil {
		t.Fatal(err)
	}
	if dial.String() != "+1 646-555-0134\n" || skip.String() != "020 7946 0958,listed\n" {
		t.Errorf("lines scrub: dialable %q, skipped %q", dial.String(), skip.String())
	}
	// DNC switched off: nothing is skipped as listed, and the report says why.
	if err := e.SetEnabled(ctx, o, false); err != nil {
		t.Fatal(err)
	}
	dial.Reset()
	rep, err := e.Scrub(ctx, o, strings.NewReader(callList), &dial, nil, dnc.ScrubOptions{})
	if err != nil || !rep.Disabled || rep.Listed != 0 || rep.Dialable != 4 || rep.Invalid != 3 {
		t.Errorf("scrub with DNC off: %+v, %v", rep, err)
	}
}

// Scrub fails closed: on a Redis failure it stops, and the dialable output holds none
// of the rows it could not check.
func testScrubFailure(t *testing.T, rdb redis.UniversalClient) {
	boom := errors.New("injected: connection reset")
	rdb, cnt := hooked(rdb)
	e, o, ctx := newEnforcer(t, rdb), org(t), ctxT(t)
	if _, err := e.Add(ctx, o, "+12125551234"); err != nil {
		t.Fatal(err)
	}
	defer cnt.fail(nil)
	var dial bytes.Buffer
	calls := 0
	rep, err := e.Scrub(ctx, o, strings.NewReader("6465550134\n6465550135\n6465550136\n6465550137\n"), &dial, nil,
		dnc.ScrubOptions{Chunk: 2, Progress: func(dnc.ScrubReport) {
			if calls++; calls == 1 {
				cnt.fail(boom)
			}
		}})
	if !errors.Is(err, dnc.ErrUnavailable) || !errors.Is(err, boom) || rep.Line != 2 || rep.Dialable != 2 {
		t.Fatalf("scrub on a failing Redis: %+v, %v; want 2 rows written, then ErrUnavailable", rep, err)
	}
	if dial.String() != "6465550134\n6465550135\n" {
		t.Fatalf("dialable output %q", dial.String())
	}
	cnt.fail(nil)
	before := snapshot(t, rdb)
	cnt.fail(boom)
	if rep, err := e.Import(ctx, o, strings.NewReader("6465550134\n"), dnc.ImportOptions{}); !errors.Is(err, dnc.ErrUnavailable) || rep.Line != 0 {
		t.Errorf("import on a failing Redis: %+v, %v", rep, err)
	}
	cnt.fail(nil)
	if snapshot(t, rdb) != before {
		t.Error("a failed import wrote")
	}
}

package rows

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

type got struct {
	line                         int64
	number, typ, batch, uuid, ac string
	bad                          bool
}

func readAll(t *testing.T, in string, o Options) (*Reader, []got) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), o)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var out []got
	for {
		row, err := r.Next()
		if err == io.EOF {
			return r, out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, got{row.Line, row.Number, row.Type, row.BatchID, row.RequestUUID, row.Action, row.Err != nil})
	}
}

func equal(t *testing.T, name string, a, b []got) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d rows %+v; want %d %+v", name, len(a), a, len(b), b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: row %d = %+v; want %+v", name, i, a[i], b[i])
		}
	}
}

func TestLayouts(t *testing.T) {
	for _, c := range []struct {
		name, in string
		o        Options
		layout   Layout
		want     []got
	}{
		{"lines", "# DNC list\n\n(212) 555-1234\n  +44 20 7946 0958  \n\"2125550199\"\n", Options{}, Lines,
			[]got{{line: 3, number: "(212) 555-1234"}, {line: 4, number: "+44 20 7946 0958"}, {line: 5, number: "2125550199"}}},
		{"lines CRLF, BOM, no final newline", "\xef\xbb\xbf2125551234\r\n\r\n2125550199", Options{}, Lines,
			[]got{{line: 1, number: "2125551234"}, {line: 3, number: "2125550199"}}},
		{"lines with a header", "Phone\n2125551234\n", Options{}, Lines, []got{{line: 2, number: "2125551234"}}},
		{"ftc pairs", "201,2000000\n\"201\",\"2000001\"\n201,20000\n", Options{}, Pairs,
			[]got{{line: 1, number: "2012000000"}, {line: 2, number: "2012000001"}, {line: 3, bad: true}}},
		{"csv header picks phone", "name,Phone_Number,Type,batch_id,Request-UUID\nAl,(212) 555-1234,complaint,b1,r1\n\"Smith, Jo\",\"+1 212 555 0199\",,b2,\n", Options{}, Delimited,
			[]got{{line: 2, number: "(212) 555-1234", typ: "complaint", batch: "b1", uuid: "r1"}, {line: 3, number: "+1 212 555 0199", batch: "b2"}}},
		{"csv column by name", "home,work\n2125551234,2125550199\n", Options{Column: "WORK"}, Delimited, []got{{line: 2, number: "2125550199"}}},
		{"csv column by index", "home,work\n2125551234,2125550199\n", Options{Column: "1"}, Delimited, []got{{line: 2, number: "2125551234"}}},
		{"csv without header", "Al,2125551234,x\nBo,2125550199,y\n", Options{}, Delimited,
			[]got{{line: 1, number: "2125551234"}, {line: 2, number: "2125550199"}}},
		{"tsv with action", "number\taction\n2125551234\tdelete\n2125550199\tadd\n", Options{}, Delimited,
			[]got{{line: 2, number: "2125551234", ac: "delete"}, {line: 3, number: "2125550199", ac: "add"}}},
		{"semicolons", "tel;note\n2125551234;\"a \"\"b\"\"\"\n", Options{}, Delimited, []got{{line: 2, number: "2125551234"}}},
		{"bad rows do not stop the file", "phone,type\n\"2125551234,x\n2125550199,ok\n2125550100\"x,y\n,\n2125550101\n", Options{}, Delimited,
			[]got{{line: 2, bad: true}, {line: 3, number: "2125550199", typ: "ok"}, {line: 4, bad: true}, {line: 6, number: "2125550101"}}},
		{"too few columns", "a,phone\nx,2125551234\ny\n", Options{}, Delimited, []got{{line: 2, number: "2125551234"}, {line: 3, bad: true}}},
		{"only a header", "phone,type\n", Options{}, Delimited, nil},
		{"# starts a comment only before the data", "# exported 2026-01-01\nid,phone\n#77,2125551234\n  #78,2125550199\n", Options{}, Delimited,
			[]got{{line: 3, number: "2125551234"}, {line: 4, number: "2125550199"}}},
		{"# rows in the FTC layout are rows", "# FTC\n201,2000000\n# note\n", Options{}, Pairs,
			[]got{{line: 2, number: "2012000000"}, {line: 3, bad: true}}},
		{"a header naming the phone column, with digits elsewhere", "phone,called_20240115\n2125551234,x\n", Options{}, Delimited,
			[]got{{line: 2, number: "2125551234"}}},
		{"a header found by -column, with digits elsewhere", "Cell Phone,called_20240115\n2125551234,x\n", Options{Column: "cell phone"}, Delimited,
			[]got{{line: 2, number: "2125551234"}}},
		{"a one-column header found by -column", "Kontakt\n2125551234\n", Options{Column: "kontakt"}, Lines, []got{{line: 2, number: "2125551234"}}},
		{"quoted metadata keeps its spaces", "phone,type\n2125551234,\" padded \"\n2125550199,  bare  \n", Options{}, Delimited,
			[]got{{line: 2, number: "2125551234", typ: " padded "}, {line: 3, number: "2125550199", typ: "bare"}}},
		{"empty", "", Options{}, Lines, nil},
		{"only comments", "# nothing\n\n", Options{}, Lines, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, rows := readAll(t, c.in, c.o)
			if r.Layout() != c.layout {
				t.Errorf("layout %v; want %v", r.Layout(), c.layout)
			}
			equal(t, c.name, rows, c.want)
		})
	}
}

func TestRawLineKept(t *testing.T) {
	r, err := NewReader(strings.NewReader("phone,name\r\n2125551234,\"Smith, Jo\"\r\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Header()) != "phone,name" || r.Delimiter() != ',' {
		t.Fatalf("header %q, delimiter %q", r.Header(), r.Delimiter())
	}
	row, err := r.Next()
	if err != nil || string(row.Raw) != `2125551234,"Smith, Jo"` {
		t.Fatalf("raw %q, %v", row.Raw, err)
	}
}

func TestNoColumn(t *testing.T) {
	for _, c := range []struct {
		in string
		o  Options
	}{
		{"name,city\nAl,Paris\n", Options{}},                    // a header without a phone column
		{"2125551234,2125550199\n", Options{}},                  // two columns of numbers, no header
		{"phone,type\n2125551234,x\n", Options{Column: "cell"}}, // no such column
		{"phone,type\n2125551234,x\n", Options{Column: "3"}},    // out of range
		{"2125551234,x\n", Options{Column: "phone"}},            // a name without a header
		{"2125551234\n", Options{Column: "fax"}},                // one column, no header
		{"phone\n2125551234\n", Options{Column: "fax"}},         // one column named otherwise
	} {
		if _, err := NewReader(strings.NewReader(c.in), c.o); !errors.Is(err, ErrNoColumn) {
			t.Errorf("NewReader(%q, %+v) = %v; want ErrNoColumn", c.in, c.o, err)
		}
	}
}

func TestGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte("\xef\xbb\xbfphone\n2125551234\n# c\n2125550199\n"))
	_ = zw.Close()
	r, err := NewReader(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		nums = append(nums, row.Number)
	}
	if strings.Join(nums, " ") != "2125551234 2125550199" {
		t.Fatalf("rows %q", nums)
	}
}

func TestLongLine(t *testing.T) {
	in := "2125551234\n" + strings.Repeat("9", MaxLine+10) + "\n2125550199\n"
	_, rows := readAll(t, in, Options{})
	equal(t, "long", rows, []got{{line: 1, number: "2125551234"}, {line: 2, bad: true}, {line: 3, number: "2125550199"}})
}

// A broken gzip stream is an input error (the file cannot be read on), not a bad row.
func TestBrokenGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(strings.Repeat("2125551234\n", 10000)))
	_ = zw.Close()
	r, err := NewReader(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := r.Next()
		if err == io.EOF {
			t.Fatal("a truncated gzip stream read to a clean end")
		}
		if err != nil {
			return
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add("phone,type\n\"2125551234\",x\n")
	f.Add("201,2000000\n")
	f.Add("a\tb\n1\t2\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NewReader(strings.NewReader(in), Options{})
		if err != nil {
			return
		}
		last := int64(0)
		for {
			row, err := r.Next()
			if err != nil {
				return
			}
			if row.Line <= last {
				t.Fatalf("line %d after %d", row.Line, last)
			}
			last = row.Line
		}
	})
}

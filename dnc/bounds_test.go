package dnc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/dnc"
)

// An error text quotes at most the first 64 characters of an invalid number, so a
// megabyte of junk is not echoed back.
func TestNumberErrorQuotesABoundedPrefix(t *testing.T) {
	huge := "+1" + strings.Repeat("9", 1<<20)
	e := &dnc.NumberError{Index: 3, Input: huge, Err: errors.New("cause")}
	want := `dnc: invalid phone number: number 3 "` + huge[:64] + `"... (1048578 bytes): cause`
	if got := e.Error(); got != want {
		t.Errorf("Error() = %.300s; want %s", got, want)
	}

	enf := newEnforcer(t, miniBackend(t).client)
	ctx := ctxT(t)
	o := org(t)
	_, errCheck := enf.Check(ctx, o, huge)
	_, errMany := enf.CheckMany(ctx, o, []string{"+12125551234", huge})
	_, errAdd := enf.Add(ctx, o, huge)
	_, errEntry := enf.AddEntry(ctx, o, huge, dnc.Meta{})
	for name, err := range map[string]error{"Check": errCheck, "CheckMany": errMany, "Add": errAdd, "AddEntry": errEntry} {
		if !errors.Is(err, dnc.ErrInvalidNumber) {
			t.Errorf("%s of a 1 MB number: %v; want ErrInvalidNumber", name, err)
			continue
		}
		if msg := err.Error(); len(msg) > 300 || !strings.Contains(msg, `"`+huge[:64]+`"...`) {
			t.Errorf("%s of a 1 MB number: error of %d bytes: %.300s", name, len(msg), msg)
		}
	}
}

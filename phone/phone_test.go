package phone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dncguard/dncguard/phone"
)

// normalizeCases is the table every normalization path must satisfy. want == "" means
// an error wrapping err is expected.
var normalizeCases = []struct {
	raw, region, want string
	err               error
}{
	// US: every common way of writing one number.
	{"(212) 555-1234", "US", "+12125551234", nil},
	{"212-555-1234", "US", "+12125551234", nil},
	{"212.555.1234", "US", "+12125551234", nil},
	{"2125551234", "US", "+12125551234", nil},
	{"1 212 555 1234", "US", "+12125551234", nil},
	{"1-212-555-1234", "US", "+12125551234", nil},
	{"+1 212-555-1234", "US", "+12125551234", nil},
	{"+12125551234", "US", "+12125551234", nil},
	{"+1 212-555-1234 ext. 9", "US", "+12125551234", nil},
	{"+1 (212) 555-1234x99", "US", "+12125551234", nil},
	{"tel:+1-212-555-1234", "US", "+12125551234", nil},
	{"tel:2125551234;phone-context=+1", "US", "+12125551234", nil},
	{"  (415) 555-2671  ", "US", "+14155552671", nil},
	{"1-800-FLOWERS", "US", "+18003569377", nil},
	{"１２１２５５５１２３４", "US", "+12125551234", nil},    // full-width digits
	{"٢١٢٥٥٥١٢٣٤", "US", "+12125551234", nil},     // Arabic-Indic digits
	{"(212) 555-1234", "us", "+12125551234", nil}, // region in lower case
	{"011 44 20 7946 0958", "US", "+442079460958", nil},
	{"+49 30 1234567", "US", "+49301234567", nil},
	{"555-0100", "US", "", phone.ErrInvalid},
	{"911", "US", "", phone.ErrInvalid},
	{"212555123", "US", "", phone.ErrInvalid},
	{"212555123456", "US", "", phone.ErrInvalid},
	{"(012) 555-1234", "US", "", phone.ErrInvalid},
	{"", "US", "", phone.ErrEmpty},
	{"   ", "US", "", phone.ErrEmpty},
	{"abc", "US", "", phone.ErrNotANumber},
	{"not a number", "US", "", phone.ErrNotANumber},
	{strings.Repeat("1", phone.MaxInputLen+1), "US", "", phone.ErrTooLong},
	{"2125551234", "XX", "", phone.ErrUnknownRegion},
	{"2125551234", "", "", phone.ErrUnknownRegion},
	// CA shares +1 with the US.
	{"416-555-0199", "CA", "+14165550199", nil},
	{"(613) 555-0199", "CA", "+16135550199", nil},
	{"1 604 555 0101", "CA", "+16045550101", nil},
	{"+1 416 555 0199", "GB", "+14165550199", nil},
	// GB
	{"020 7946 0958", "GB", "+442079460958", nil},
	{"(020) 7946-0958", "GB", "+442079460958", nil},
	{"07400 123456", "GB", "+447400123456", nil},
	{"07700 900123", "GB", "", phone.ErrInvalid}, // Ofcom drama range
	{"+44 (0) 20 7946 0958", "US", "+442079460958", nil},
	{"00 44 20 7946 0958", "GB", "+442079460958", nil},
	{"0207946095", "GB", "", phone.ErrInvalid},
	// DE
	{"030 123456", "DE", "+4930123456", nil},
	{"030 1234567", "DE", "+49301234567", nil},
	{"0151 23456789", "DE", "+4915123456789", nil},
	{"+49 (0)30 1234567", "FR", "+49301234567", nil},
	{"0049 30 1234567", "DE", "+49301234567", nil},
	// IN
	{"098765 43210", "IN", "+919876543210", nil},
	{"98765 43210", "IN", "+919876543210", nil},
	{"+91 98765-43210", "US", "+919876543210", nil},
	{"011 2345 6789", "IN", "+911123456789", nil},
	{"12345", "IN", "", phone.ErrInvalid},
	// AU
	{"0412 345 678", "AU", "+61412345678", nil},
	{"(02) 9876 5432", "AU", "+61298765432", nil},
	{"+61 412 345 678", "US", "+61412345678", nil},
	{"0011 61 412 345 678", "AU", "+61412345678", nil},
	// BR
	{"(11) 91234-5678", "BR", "+5511912345678", nil},
	{"(21) 2345-6789", "BR", "+552123456789", nil},
	{"+55 11 91234 5678", "US", "+5511912345678", nil},
	{"11 1234", "BR", "", phone.ErrInvalid},
}

func TestNormalize(t *testing.T) {
	for _, c := range normalizeCases {
		got, err := phone.Normalize(c.raw, c.region)
		if c.err == nil {
			if err != nil || got != c.want {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q, nil", c.raw, c.region, got, err, c.want)
			}
			continue
		}
		if got != "" || !errors.Is(err, c.err) {
			t.Errorf("Normalize(%q, %q) = %q, %v; want \"\", error wrapping %v", c.raw, c.region, got, err, c.err)
		}
	}
}

func TestNormalizeOutputIsE164AndIdempotent(t *testing.T) {
	for _, c := range normalizeCases {
		got, err := phone.Normalize(c.raw, c.region)
		if err != nil {
			continue
		}
		if !phone.IsE164(got) {
			t.Errorf("Normalize(%q) = %q, not E.164", c.raw, got)
		}
		// An E.164 result normalizes to itself under any region.
		for _, r := range []string{"US", "GB", "IN"} {
			again, err := phone.Normalize(got, r)
			if err != nil || again != got {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q", got, r, again, err, got)
			}
		}
	}
}

func TestRegion(t *testing.T) {
	for _, c := range []struct{ in, want string }{{"us", "US"}, {"Gb", "GB"}, {" de ", "DE"}} {
		if got, err := phone.Region(c.in); err != nil || got != c.want {
			t.Errorf("Region(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "ZZ", "USA", "xx", "1"} {
		if _, err := phone.Region(in); !errors.Is(err, phone.ErrUnknownRegion) {
			t.Errorf("Region(%q) err = %v; want ErrUnknownRegion", in, err)
		}
	}
	if err := phone.Warm("US", "gb"); err != nil {
		t.Errorf("Warm: %v", err)
	}
	if err := phone.Warm("QQ"); !errors.Is(err, phone.ErrUnknownRegion) {
		t.Errorf("Warm(QQ) = %v; want ErrUnknownRegion", err)
	}
}

func TestIsE164(t *testing.T) {
	for s, want := range map[string]bool{"+12125551234": true, "+44": true, "12125551234": false,
		"+0123": false, "+": false, "+1234567890123456": false, "+1 212": false, "+１２": false} {
		if got := phone.IsE164(s); got != want {
			t.Errorf("IsE164(%q) = %v; want %v", s, got, want)
		}
	}
}

// TestAppendNormalized checks that AppendNormalized agrees with Normalize on every case
// of the table, appending after what dst holds, and leaves dst as it was on failure.
func TestAppendNormalized(t *testing.T) {
	for _, c := range normalizeCases {
		dst := []byte("prefix|")
		got, err := phone.AppendNormalized(dst, c.raw, c.region)
		want, werr := phone.Normalize(c.raw, c.region)
		if string(got) != "prefix|"+want || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Errorf("AppendNormalized(%q, %q, %q) = %q, %v; Normalize = %q, %v", dst, c.raw, c.region, got, err, want, werr)
		}
	}
}

package phone

import (
	"testing"
)

// fuzzRegions are the default regions FuzzNormalize picks from with its region byte:
// the 20 of the differential test, a few that share a country code or have unusual
// national prefixes, a lower-case and an unknown code.
var fuzzRegions = append(append([]string{}, diffRegions...),
	"AG", "BS", "PR", "GG", "JE", "IM", "KZ", "RU", "AR", "CX", "SM", "VA", "GA", "MG", "NF",
	"us", "XX")

// FuzzNormalize checks that Normalize agrees with the reference path on any input:
// the same E.164 string, or errors wrapping the same sentinel with the same text.
//
//	go test ./phone -run '^$' -fuzz '^FuzzNormalize$' -fuzztime 30s
func FuzzNormalize(f *testing.F) {
	for i, c := range diffTableCases {
		f.Add(c[0], uint8(i))
	}
	for _, s := range []string{
		"+12125551234", "(415) 555-2671", "415.555.2671", "1-415-555-2671", "020 7946 0958",
		"030 1234567", "098765 43210", "011 44 20 7946 0958", "+1 212-555-1234 ext. 9",
		"0011 61 412 345 678", "+39 06 1234 5678", "06 1234 5678", "+0 212 555 1234",
		"+011 44 20 7946 0958", "12", "12 ", "+12", "1 2", "(", "+", "0", "00", "011",
		"0111", "+1", "0021 11 91234 5678", "0 11 91234 5678", "90 21 11 91234 5678",
		"1 242 357 1234", "357 1234", "+44 1481 256789", "256789", "0000000000",
	} {
		for r := range diffRegions {
			f.Add(s, uint8(r))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		region := fuzzRegions[int(r)%len(fuzzRegions)]
		if _, diff := compareWithReference(raw, region); diff != "" {
			t.Error(diff)
		}
	})
}

package numgen

import (
	"testing"

	"github.com/dncguard/dncguard/phone"
)

// Every number is valid and distinct, and every format of it reads back as it in region US.
func TestFormatsReadBack(t *testing.T) {
	ns := E164(1, 5000)
	seen := map[string]bool{}
	for i, n := range ns {
		if seen[n] {
			t.Fatalf("%s twice", n)
		}
		seen[n] = true
		for f := range 5 {
			s := Format(n, i+f)
			if got, err := phone.Normalize(s, "US"); err != nil || got != n {
				t.Fatalf("Format(%s, %d) = %q reads as %q, %v", n, i+f, s, got, err)
			}
		}
	}
}

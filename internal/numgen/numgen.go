// Package numgen makes distinct random phone numbers for tests and benchmarks, from a
// fixed seed: many distinct inputs, so that no cache or branch predictor is flattered
// by one number repeated.
package numgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/dncguard/dncguard/phone"
)

// E164 returns n distinct valid numbers in E.164 (phonenumbers says so): seven in ten
// US or Canadian, two British mobiles, one German landline.
func E164(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[string]struct{}, n)
	out := make([]string, 0, n)
	for len(out) < n {
		s := one(r)
		if e, err := phone.Normalize(s, "US"); err != nil || e != s {
			continue
		}
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

func one(r *rand.Rand) string {
	switch x := r.IntN(10); {
	case x < 7:
		return fmt.Sprintf("+1%d%02d%d%02d%04d", 2+r.IntN(8), r.IntN(100), 2+r.IntN(8), r.IntN(100), r.IntN(10000))
	case x < 9:
		return fmt.Sprintf("+447%d%08d", 4+r.IntN(6), r.IntN(1e8))
	default:
		return fmt.Sprintf("+49%d%07d", 30+r.IntN(60), r.IntN(1e7))
	}
}

// Format writes an E.164 number as people write it, in one of several formats picked by
// i: for +1 numbers "(212) 555-1234", "212.555.1234", "1-212-555-1234", "+1 212 555
// 1234" or as it is; for others "+44 7911 123456"-like groupings or as it is. Read in
// region US, every format normalizes back to the number.
func Format(e164 string, i int) string {
	d := e164[1:]
	if d[0] == '1' && len(d) == 11 {
		a, x, l := d[1:4], d[4:7], d[7:]
		switch i % 5 {
		case 0:
			return fmt.Sprintf("(%s) %s-%s", a, x, l)
		case 1:
			return fmt.Sprintf("%s.%s.%s", a, x, l)
		case 2:
			return fmt.Sprintf("1-%s-%s-%s", a, x, l)
		case 3:
			return fmt.Sprintf("+1 %s %s %s", a, x, l)
		}
		return e164
	}
	if i%2 == 0 {
		return "+" + d[:2] + " " + d[2:6] + " " + d[6:]
	}
	return e164
}

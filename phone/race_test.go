//go:build race

package phone

// Under the race detector the reference path is about ten times slower, so the
// differential test checks raceDiffCount inputs by default, fewer than the 50,000 of
// the ordinary go test. DNC_PHONE_DIFF_N overrides both.
const (
	raceEnabled   = true
	raceDiffCount = 10_000
)

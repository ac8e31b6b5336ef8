//go:build race

package phone

// Under the race detector the reference path is about ten times slower, so the
// differential test checks raceDiffCount inputs by default; the full million runs
// in the ordinary (non-race) go test. DNC_PHONE_DIFF_N overrides both.
const (
	raceEnabled   = true
	raceDiffCount = 100_000
)

//go:build !race

package phone

const (
	raceEnabled   = false
	raceDiffCount = 0
)

package dnchttp

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dncguard/dncguard/internal/clip"
)

// Timestamps in requests (expiresAt, since, until) are RFC 3339 date-times, the profile
// of ISO 8601 that JSON APIs use: "2031-01-02T15:04:05Z", "2031-01-02T10:04:05.5-05:00".
// The time zone is required: a time without one names no instant. Timestamps in answers
// are written as createdAt is (ISOMillis): UTC, with milliseconds.
var (
	// rfc3339 is an RFC 3339 date-time (section 5.6); "T" and "Z" may be lower case.
	rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$`)
	// dateOnly and noZone are what a client sends by mistake most, named in the 400.
	dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	noZone   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$`)
)

// timestampExample is the example of a valid timestamp that a 400 gives.
const timestampExample = `want an RFC 3339 timestamp with a time zone, such as "2031-01-02T15:04:05Z" or "2031-01-02T10:04:05-05:00"`

// parseTime reads s, the value of the field or parameter name, as an RFC 3339
// timestamp. Anything else is a 400 that says what is wrong with it: a date without a
// time, a time without a zone, a field out of range ("month out of range"), or not a
// timestamp at all.
func parseTime(name, s string) (time.Time, error) {
	m := rfc3339.FindStringSubmatch(s)
	if m == nil {
		why := "is not an RFC 3339 timestamp"
		switch {
		case dateOnly.MatchString(s):
			why = "is a date without a time of day"
		case noZone.MatchString(s):
			why = "has no time zone (\"Z\" for UTC, or an offset such as \"+02:00\")"
		}
		return time.Time{}, badRequest(fmt.Sprintf("%s %s %s: %s", name, clip.Quote(s), why, timestampExample))
	}
	if m[3] != "" && (m[3] > "23" || m[4] > "59") { // time.Parse takes +24:00
		return time.Time{}, badRequest(fmt.Sprintf("%s %s is not a valid time: time zone offset out of range", name, clip.Quote(s)))
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		why := "out of range"
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			why = strings.TrimPrefix(pe.Message, ": ") // "month out of range", "day out of range", ...
		}
		return time.Time{}, badRequest(fmt.Sprintf("%s %s is not a valid time: %s", name, clip.Quote(s), why))
	}
	return t, nil
}

// formatTime writes t as the API writes times: ISOMillis, in UTC; "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ISOMillis)
}

package dnchttp

import (
	"net/http"
	"strconv"
	"time"
)

// DefaultTimeout is the deadline of a request when WithTimeout does not set one.
const DefaultTimeout = 2 * time.Second

// RetryAfter is what the Retry-After header of a 503 asks a client to wait: a Redis that
// stalls or restarts is usually back in about that time, and a Redis Cluster fails over
// in its node timeout (seconds).
const RetryAfter = time.Second

// MsgUnavailable is the message of the 503 that a request gets when storage does not
// answer within the request's deadline, or cannot be reached.
const MsgUnavailable = "DNC storage is temporarily unavailable; try again shortly"

// WithTimeout sets the deadline of each request, counted from when the handler starts on
// it (after the server has read its headers) to the end of its storage work. Default
// DefaultTimeout (2 s); d <= 0 keeps the default. Storage that has not answered by then
// gives 503 with a Retry-After header (see the package documentation).
//
// The deadline cuts a Redis command short only if the go-redis client was built with
// ContextTimeoutEnabled: true; without it a stalled Redis holds the request for the
// client's ReadTimeout (5 s by default) before the 503.
func WithTimeout(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.timeout = d
		}
	}
}

// unavailable answers a storage outage: 503, a Retry-After header, the generic message.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
	writeError(w, http.StatusServiceUnavailable, MsgUnavailable)
}

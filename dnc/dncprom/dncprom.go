// Package dncprom is a [dnc.Observer] that keeps Prometheus metrics of an Enforcer's
// decisions, for dialers and servers alike. It lives apart from package dnc so that dnc
// itself does not depend on the Prometheus client.
//
//	obs := dncprom.New(prometheus.DefaultRegisterer)
//	enf, err := dnc.New(rdb, dnc.WithObserver(obs))
//
// The metrics (no org label: an org id per series would grow without bound):
//
//	dnc_decisions_total{reason}           counter: decisions of Check, ShouldSkip, CheckMany
//	                                      and CheckManyIn, by dnc.Reason
//	dnc_check_duration_seconds            histogram: how long a check took (for a batch,
//	                                      its time divided by its size)
//	dnc_check_storage_errors_total        counter: checks that failed because storage
//	                                      failed or their context ended (decisions of
//	                                      reason dnc.ReasonUnavailable)
package dncprom

import (
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/prometheus/client_golang/prometheus"
)

// Observer counts decisions and storage errors and times checks. Create it with New;
// it is safe for concurrent use.
type Observer struct {
	decisions     *prometheus.CounterVec
	latency       prometheus.Histogram
	storageErrors prometheus.Counter
}

// New returns an Observer whose metrics are registered with reg. It panics if reg
// already holds metrics of the same names, as prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Observer {
	o := &Observer{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dnc_decisions_total",
			Help: "DNC decisions, by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dnc_check_duration_seconds",
			Help:    "Time a DNC check took; for a batch, its time divided by its size.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), // 50µs to about 1.6s
		}),
		storageErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnc_check_storage_errors_total",
			Help: "DNC checks that failed because storage failed or their context ended.",
		}),
	}
	for _, r := range []dnc.Reason{dnc.ReasonListed, dnc.ReasonNotListed, dnc.ReasonDisabled,
		dnc.ReasonInvalidNumber, dnc.ReasonInvalidOrg, dnc.ReasonUnavailable} {
		o.decisions.WithLabelValues(string(r)) // every reason shows, at 0 until it happens
	}
	reg.MustRegister(o.decisions, o.latency, o.storageErrors)
	return o
}

// Decided records one decision; it implements dnc.Observer. A decision counts as a
// storage error by its reason, dnc.ReasonUnavailable, not by err: in a batch, err is
// the batch's error and also comes with the decisions of invalid numbers.
func (o *Observer) Decided(_ string, d dnc.Decision, took time.Duration, _ error) {
	o.decisions.WithLabelValues(string(d.Reason)).Inc()
	o.latency.Observe(took.Seconds())
	if d.Reason == dnc.ReasonUnavailable {
		o.storageErrors.Inc()
	}
}

var _ dnc.Observer = (*Observer)(nil)

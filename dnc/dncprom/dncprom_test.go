package dncprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dncprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

func TestObserver(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewPedanticRegistry()
	enf, err := dnc.New(rdb, dnc.WithObserver(dncprom.New(reg)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := enf.Add(ctx, "acme", "+12125551234"); err != nil {
		t.Fatal(err)
	}
	_, _ = enf.ShouldSkip(ctx, "acme", "(212) 555-1234")                                // listed
	_, _ = enf.CheckMany(ctx, "acme", []string{"+12125551234", "+14155552671", "junk"}) // listed, not listed, invalid
	_, _ = enf.CheckManyIn(ctx, "acme", "GB", []string{"020 7946 0958"})                // not listed
	_, _ = enf.Check(ctx, "a b", "+12125551234")                                        // invalid org
	if err := enf.SetEnabled(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	_, _ = enf.Check(ctx, "acme", "+12125551234") // disabled
	mr.Close()                                    // storage gone
	if _, err := enf.Check(ctx, "acme", "+12125551234"); !errors.Is(err, dnc.ErrUnavailable) {
		t.Fatalf("Check with Redis gone = %v; want ErrUnavailable", err)
	}

	want := `
# HELP dnc_check_storage_errors_total DNC checks that failed because storage failed or their context ended.
# TYPE dnc_check_storage_errors_total counter
dnc_check_storage_errors_total 1
# HELP dnc_decisions_total DNC decisions, by reason.
# TYPE dnc_decisions_total counter
dnc_decisions_total{reason="disabled"} 1
dnc_decisions_total{reason="invalid_number"} 1
dnc_decisions_total{reason="invalid_org"} 1
dnc_decisions_total{reason="listed"} 2
dnc_decisions_total{reason="not_listed"} 2
dnc_decisions_total{reason="unavailable"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dnc_decisions_total", "dnc_check_storage_errors_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "dnc_check_duration_seconds"); n != 1 {
		t.Errorf("dnc_check_duration_seconds: %d series; want 1", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "dnc_check_duration_seconds" {
			if got := mf.GetMetric()[0].GetHistogram().GetSampleCount(); got != 8 {
				t.Errorf("dnc_check_duration_seconds count = %d; want 8 (one per decision)", got)
			}
		}
	}
}

// With storage down, a batch of one valid and two invalid numbers is one storage error
// (the valid number's), though the batch's error comes with all three decisions.
func TestStorageErrorsInBatch(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewPedanticRegistry()
	enf, err := dnc.New(rdb, dnc.WithObserver(dncprom.New(reg)))
	if err != nil {
		t.Fatal(err)
	}
	mr.Close()
	ds, err := enf.CheckMany(context.Background(), "acme", []string{"junk", "+12125551234", "x"})
	if !errors.Is(err, dnc.ErrUnavailable) || len(ds) != 3 || ds[1].Reason != dnc.ReasonUnavailable ||
		ds[0].Reason != dnc.ReasonInvalidNumber || ds[2].Reason != dnc.ReasonInvalidNumber {
		t.Fatalf("CheckMany with Redis gone = %+v, %v; want invalid, unavailable, invalid and ErrUnavailable", ds, err)
	}
	want := `
# HELP dnc_check_storage_errors_total DNC checks that failed because storage failed or their context ended.
# TYPE dnc_check_storage_errors_total counter
dnc_check_storage_errors_total 1
# HELP dnc_decisions_total DNC decisions, by reason.
# TYPE dnc_decisions_total counter
dnc_decisions_total{reason="disabled"} 0
dnc_decisions_total{reason="invalid_number"} 2
dnc_decisions_total{reason="invalid_org"} 0
dnc_decisions_total{reason="listed"} 0
dnc_decisions_total{reason="not_listed"} 0
dnc_decisions_total{reason="unavailable"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dnc_decisions_total", "dnc_check_storage_errors_total"); err != nil {
		t.Error(err)
	}
}

package dnc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/phone"
	"github.com/redis/go-redis/v9"
)

// Benchmarks against a real redis-server on loopback. Each compares the library with
// the raw go-redis command on the same client in the same run; report the ratio, not
// the absolute times (loopback latency on a shared machine is noise).
//
//	go test ./dnc -run '^$' -bench . -count 6

// campaign returns n distinct valid US numbers in national format ("(415) 555-2671",
// "415.555.2671", "1-415-555-2671", mixed) and their E.164 forms.
func campaign(b *testing.B, n int) (national, e164 []string) {
	b.Helper()
	areas := []int{212, 415, 312, 646, 617, 202, 305, 713, 206, 404}
	formats := []string{"(%d) %03d-%04d", "%d.%03d.%04d", "1-%d-%03d-%04d"}
	for i := 0; len(national) < n; i++ {
		raw := fmt.Sprintf(formats[i%len(formats)], areas[i%len(areas)], 201+(i/10)%700, i%10000)
		e, err := phone.Normalize(raw, "US")
		if err != nil {
			continue
		}
		national = append(national, raw)
		e164 = append(e164, e)
	}
	return national, e164
}

type benchEnv struct {
	rdb      *redis.Client
	enf      *dnc.Enforcer
	national []string
	e164     []string
	key      string // a set of the org's listed numbers, for the raw baseline
}

func setupBench(b *testing.B) benchEnv {
	b.Helper()
	s := redistest.Start(b)
	rdb := s.Client(b)
	enf, err := dnc.New(rdb)
	if err != nil {
		b.Fatal(err)
	}
	national, e164 := campaign(b, 20000)
	// One number in ten is listed, as a campaign's list meets an org's DNC list.
	var listed []string
	for i := 0; i < len(e164); i += 10 {
		listed = append(listed, e164[i])
	}
	if _, err := enf.Add(context.Background(), "acme", listed...); err != nil {
		b.Fatal(err)
	}
	// The baseline's set holds the same listed numbers.
	const key = "bench:{acme}:numbers"
	if err := rdb.SAdd(context.Background(), key, toAny(listed)...).Err(); err != nil {
		b.Fatal(err)
	}
	return benchEnv{rdb: rdb, enf: enf, national: national, e164: e164, key: key}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func BenchmarkCheck(b *testing.B) {
	env := setupBench(b)
	ctx := context.Background()
	n := len(env.national)
	b.Run("RawSISMEMBER", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := env.rdb.SIsMember(ctx, env.key, env.e164[i%n]).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ShouldSkipNational", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := env.enf.ShouldSkip(ctx, "acme", env.national[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ShouldSkipE164", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := env.enf.ShouldSkip(ctx, "acme", env.e164[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCheckParallel(b *testing.B) {
	env := setupBench(b)
	ctx := context.Background()
	n := len(env.national)
	b.Run("RawSISMEMBER", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := env.rdb.SIsMember(ctx, env.key, env.e164[i%n]).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ShouldSkipNational", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := env.enf.ShouldSkip(ctx, "acme", env.national[i%n]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkCheckMany: a batch scrub of 1,000 national-format numbers against a raw
// pipelined SMISMEMBER of their E.164 forms; ns/op is per batch.
func BenchmarkCheckMany(b *testing.B) {
	env := setupBench(b)
	ctx := context.Background()
	const size = 1000
	batches := len(env.national) / size
	b.Run("RawSMISMEMBER", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			lo := (i % batches) * size
			if err := env.rdb.SMIsMember(ctx, env.key, toAny(env.e164[lo:lo+size])...).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CheckManyNational", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			lo := (i % batches) * size
			if _, err := env.enf.CheckMany(ctx, "acme", env.national[lo:lo+size]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

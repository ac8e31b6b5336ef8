package dnc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/phone"
	"github.com/dncguard/dncguard/store"
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

// scrubN is the size of the batch-scrub benchmarks' campaign.
const scrubN = 100_000

// mixedCampaign returns n distinct valid numbers from a fixed seed, written the ways a
// campaign file mixes them: "(415) 555-2671", "415.555.2671", "1-415-555-2671",
// "4155552671", "+14155552671", and one in ten international ("+44 20 7946 0958"
// style, or E.164 of GB and DE), with their E.164 forms.
func mixedCampaign(b *testing.B, n int) (raw, e164 []string) {
	b.Helper()
	rng := rand.New(rand.NewPCG(8, 2026))
	seen := make(map[string]bool, n)
	for len(raw) < n {
		var s string
		switch k := rng.IntN(10); {
		case k == 9 && rng.IntN(2) == 0:
			s = fmt.Sprintf("+44 20 7%03d %04d", rng.IntN(1000), rng.IntN(10000))
		case k == 9:
			s = fmt.Sprintf("+4930%07d", rng.IntN(10_000_000))
		default:
			area, exch, line := 201+rng.IntN(780), 201+rng.IntN(780), rng.IntN(10000)
			s = fmt.Sprintf([]string{"(%d) %03d-%04d", "%d.%03d.%04d", "1-%d-%03d-%04d",
				"%d%03d%04d", "+1%d%03d%04d"}[k%5], area, exch, line)
		}
		e, err := phone.Normalize(s, "US")
		if err != nil || seen[e] {
			continue
		}
		seen[e] = true
		raw = append(raw, s)
		e164 = append(e164, e)
	}
	return raw, e164
}

// BenchmarkScrub: 100,000 mixed-format numbers scrubbed with CheckMany in one call and
// in calls of 10,000 and 1,000, against the raw go-redis ceiling on the same E.164
// numbers: SMISMEMBER of 1,000 members a command, 10 commands a pipeline, arguments
// built before the clock starts. ns/op is per 100,000 numbers; -count N alternates the
// them in blocks, and benchratio prints each one's time over the raw one's (1.43x is
// 0.7 of the raw throughput). StoreCheckMany is package store alone on the E.164
// numbers, the bound for CheckMany:
//
//	go test ./dnc -run '^$' -bench '^BenchmarkScrub$' -count 6 | go run ./internal/benchratio
func BenchmarkScrub(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	enf, err := dnc.New(rdb)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	raw, e164 := mixedCampaign(b, scrubN)
	var listed []string
	for i := 0; i < len(e164); i += 10 {
		listed = append(listed, e164[i])
	}
	if _, err := enf.Add(ctx, "acme", listed...); err != nil {
		b.Fatal(err)
	}
	const key = "bench:{acme}:numbers"
	if err := rdb.SAdd(ctx, key, toAny(listed)...).Err(); err != nil {
		b.Fatal(err)
	}
	var args [][]any // one SMISMEMBER's members each
	for lo := 0; lo < len(e164); lo += 1000 {
		args = append(args, toAny(e164[lo:lo+1000]))
	}
	for _, call := range []int{scrubN, 10_000, 1_000} {
		name := fmt.Sprintf("calls-of-%d", call)
		b.Run(name+"/RawSMISMEMBER", func(b *testing.B) { rawScrub(b, rdb, key, args) })
		// The storage layer alone, on numbers already in E.164: the most CheckMany can
		// reach with normalization free.
		b.Run(name+"/StoreCheckMany", func(b *testing.B) {
			b.ReportAllocs()
			st := store.New(rdb, store.DefaultPrefix)
			for b.Loop() {
				for lo := 0; lo < len(e164); lo += call {
					if _, _, err := st.CheckMany(ctx, "acme", e164[lo:lo+call], true); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*scrubN), "ns/number")
		})
		b.Run(name+"/CheckMany", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for lo := 0; lo < len(raw); lo += call {
					if _, err := enf.CheckMany(ctx, "acme", raw[lo:lo+call]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*scrubN), "ns/number")
		})
	}
}

// rawScrub asks SMISMEMBER of each of args, 10 commands a pipeline.
func rawScrub(b *testing.B, rdb *redis.Client, key string, args [][]any) {
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		for lo := 0; lo < len(args); lo += 10 {
			pipe := rdb.Pipeline()
			for _, a := range args[lo:min(lo+10, len(args))] {
				pipe.SMIsMember(ctx, key, a...)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*scrubN), "ns/number")
}

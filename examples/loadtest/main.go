// Command loadtest measures DNC checks under concurrent load: -c goroutines call
// Enforcer.Check for -d, then the same goroutines send raw SISMEMBER commands (the
// cheapest membership test Redis has) for as long, against the same Redis. It prints
// each one's throughput and latency percentiles, and their ratio.
//
//	go run ./examples/loadtest -redis redis://127.0.0.1:6379/0
//	go run ./examples/loadtest -redis-cluster 'redis://127.0.0.1:7000?addr=127.0.0.1:7001' -c 16 -d 10s
//
// It talks to loopback addresses only (127.0.0.0/8, ::1, localhost): a load test is not
// to be pointed at a shared server by a typo. Its keys use the prefix "dncloadtest", so
// they never meet an application's ("dnc"), and it deletes them when done. -d is at
// most 5 minutes, and each call has a deadline (-timeout), so a run always ends. With
// neither -redis nor -redis-cluster it runs on an embedded miniredis, which measures
// the program, not Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"sync"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

const (
	prefix      = "dncloadtest"
	org         = "loadtest"
	maxDuration = 5 * time.Minute
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	redisURL, clusterURL string
	workers              int
	duration, timeout    time.Duration
	numbers              int
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.redisURL, "redis", "", "Redis URL of a single node on loopback, e.g. redis://127.0.0.1:6379/0 (default: an embedded miniredis)")
	fs.StringVar(&c.clusterURL, "redis-cluster", "", "Redis Cluster URL on loopback, e.g. redis://127.0.0.1:7000?addr=127.0.0.1:7001")
	fs.IntVar(&c.workers, "c", 8, "concurrent goroutines")
	fs.DurationVar(&c.duration, "d", 5*time.Second, "how long each phase runs (at most 5m)")
	fs.DurationVar(&c.timeout, "timeout", 500*time.Millisecond, "deadline of each call")
	fs.IntVar(&c.numbers, "n", 1000, "numbers listed for the org; checks alternate listed and unlisted ones")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.workers < 1 || c.workers > 1024:
		return c, fmt.Errorf("-c %d: want 1 to 1024", c.workers)
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-d %v: want more than 0 and at most %v", c.duration, maxDuration)
	case c.timeout <= 0:
		return c, fmt.Errorf("-timeout %v: must be positive", c.timeout)
	case c.numbers < 1 || c.numbers > maxNumbers:
		return c, fmt.Errorf("-n %d: want 1 to %d", c.numbers, maxNumbers)
	}
	return c, loopbackOnly(c.redisURL, c.clusterURL)
}

// loopbackOnly fails unless every address the URLs name is a loopback one. Errors never
// repeat a URL, which may hold a password.
func loopbackOnly(redisURL, clusterURL string) error {
	var addrs []string
	if redisURL != "" {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return errors.New("-redis: not a valid Redis URL")
		}
		addrs = append(addrs, opt.Addr)
	}
	if clusterURL != "" {
		opt, err := redis.ParseClusterURL(clusterURL)
		if err != nil {
			return errors.New("-redis-cluster: not a valid Redis Cluster URL")
		}
		addrs = append(addrs, opt.Addrs...)
	}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("address %s is not a loopback address: loadtest runs on this machine only", a)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	rdb, where, embedded, closeRedis, err := redisconn.Open(c.redisURL, c.clusterURL)
	if err != nil {
		return err
	}
	defer closeRedis()
	fmt.Fprintf(stdout, "loadtest: %s, %d goroutines, %v per phase, %v deadline per call\n", where, c.workers, c.duration, c.timeout)
	if embedded {
		fmt.Fprintln(stdout, "loadtest: embedded miniredis: figures measure this program, not Redis; give -redis or -redis-cluster")
	}
	enf, err := dnc.New(rdb, dnc.WithKeyPrefix(prefix))
	if err != nil {
		return err
	}
	listed, unlisted := numbers(c.numbers)
	rawKey := prefix + ":raw:{" + org + "}" // the org's slot, as the Enforcer's keys
	defer cleanup(rdb, enf, rawKey, listed)
	if err := setup(ctx, rdb, enf, rawKey, listed); err != nil {
		return err
	}

	checks := phase(ctx, c, func(ctx context.Context, i int) error {
		n := listed[i%len(listed)]
		if i%2 == 1 {
			n = unlisted[i%len(unlisted)]
		}
		d, err := enf.Check(ctx, org, n)
		if err == nil && d.Skip != (i%2 == 0) {
			return fmt.Errorf("wrong decision for %s: %+v", n, d)
		}
		return err
	})
	raw := phase(ctx, c, func(ctx context.Context, i int) error {
		n := listed[i%len(listed)]
		if i%2 == 1 {
			n = unlisted[i%len(unlisted)]
		}
		return rdb.SIsMember(ctx, rawKey, n).Err()
	})
	checks.print(stdout, "Enforcer.Check")
	raw.print(stdout, "raw SISMEMBER")
	if raw.ok > 0 && checks.ok > 0 {
		fmt.Fprintf(stdout, "Check / SISMEMBER: p50 %.2fx, p99 %.2fx, throughput %.2fx\n",
			float64(checks.pct(50))/float64(max(raw.pct(50), 1)),
			float64(checks.pct(99))/float64(max(raw.pct(99), 1)),
			checks.throughput()/raw.throughput())
	}
	if checks.errs > 0 || raw.errs > 0 {
		return fmt.Errorf("%d checks and %d SISMEMBER failed; first: %v", checks.errs, raw.errs, errors.Join(checks.first, raw.first))
	}
	return ctx.Err()
}

// Area codes of the numbers: 9,000 numbers each (555-1000 to 555-9999).
var (
	listedAreas   = []int{212, 312, 415, 646, 718, 917, 303, 305, 404, 503, 617}
	unlistedAreas = []int{213, 313, 414, 602, 702, 808, 206, 210, 214, 512, 713}
)

// maxNumbers is the most numbers -n may ask for.
var maxNumbers = 9000 * len(listedAreas)

// numbers returns n listed and n unlisted numbers, all valid US numbers.
func numbers(n int) (listed, unlisted []string) {
	for i := range n {
		listed = append(listed, fmt.Sprintf("+1%d555%04d", listedAreas[i/9000], 1000+i%9000))
		unlisted = append(unlisted, fmt.Sprintf("+1%d555%04d", unlistedAreas[i/9000], 1000+i%9000))
	}
	return listed, unlisted
}

// setup lists the numbers for the org, and puts them in the raw set.
func setup(ctx context.Context, rdb redis.UniversalClient, enf *dnc.Enforcer, rawKey string, listed []string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := enf.Add(ctx, org, listed...); err != nil {
		return fmt.Errorf("list numbers: %w", err)
	}
	members := make([]any, len(listed))
	for i, n := range listed {
		members[i] = n
	}
	if err := rdb.SAdd(ctx, rawKey, members...).Err(); err != nil {
		return fmt.Errorf("fill the raw set: %w", err)
	}
	return nil
}

// cleanup deletes what setup wrote, on a fresh context: it runs after an interrupt too.
// Removing the numbers leaves the org's state (its layout version, switch and bucket
// table), so it deletes every key under the load test's own prefix and org, on every
// master.
func cleanup(rdb redis.UniversalClient, enf *dnc.Enforcer, rawKey string, listed []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = enf.Remove(ctx, org, listed...)
	_ = rdb.Del(ctx, rawKey).Err()
	sweep := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+":{"+org+"}:*", 1000).Iterator()
		for it.Next(ctx) {
			if err := c.Del(ctx, it.Val()).Err(); err != nil {
				return err
			}
		}
		return it.Err()
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		_ = c.ForEachMaster(ctx, sweep)
	case *redis.Client:
		_ = sweep(ctx, c)
	}
}

// result is one phase's outcome.
type result struct {
	ok, errs int
	first    error
	took     time.Duration   // the phase's wall time
	lat      []time.Duration // of the successful calls, sorted
}

// phase runs call from c.workers goroutines for c.duration (or until ctx ends), each
// call with its own deadline, and collects the latencies.
func phase(ctx context.Context, c config, call func(ctx context.Context, i int) error) result {
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			var errs int
			var first error
			for i := w; ctx.Err() == nil; i += c.workers {
				cctx, ccancel := context.WithTimeout(context.Background(), c.timeout)
				t0 := time.Now()
				err := call(cctx, i)
				d := time.Since(t0)
				ccancel()
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			defer mu.Unlock()
			res.lat = append(res.lat, lat...)
			res.ok += len(lat)
			res.errs += errs
			if res.first == nil {
				res.first = first
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(start)
	slices.Sort(res.lat)
	return res
}

func (r result) throughput() float64 { return float64(r.ok) / r.took.Seconds() }

// pct returns the p-th percentile latency (nearest rank), 0 with no calls.
func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat)*p + 99) / 100
	return r.lat[max(i-1, 0)]
}

func (r result) print(w io.Writer, name string) {
	us := func(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
	maxLat := time.Duration(0)
	if len(r.lat) > 0 {
		maxLat = r.lat[len(r.lat)-1]
	}
	fmt.Fprintf(w, "%-15s %9.0f/s  p50 %7s  p99 %7s  max %7s  (%d calls, %d failed)\n",
		name, r.throughput(), us(r.pct(50)), us(r.pct(99)), us(maxLat), r.ok, r.errs)
}

// Command server serves the DNC HTTP API (package dnc/dnchttp) and Prometheus metrics
// at /metrics.
//
//	go run ./examples/server                        # 127.0.0.1:8080, embedded miniredis
//	go run ./examples/server -addr 127.0.0.1:9090 -redis redis://localhost:6379/0
//	go run ./examples/server -redis-cluster 'redis://node1:7000?addr=node2:7001&addr=node3:7002'
//	go run ./examples/server -timeout 500ms          # each request's deadline (default 2s)
//
// The environment configures who may call it:
//
//	DNC_API_TOKENS  bearer tokens and their orgs: "token=org,token2=org2"; a token may
//	                also name the actor that the org's audit log records for its changes,
//	                in parentheses after the org: "token=org (alice@acme),token2=org2"
//	DNC_ORGS        the orgs that have users, comma-separated; when unset, every org named
//	                in DNC_API_TOKENS (set but empty: none, so every request is 404)
//
// Each org must be a valid org id (dnc.ValidOrg), and each actor printable text: the
// server refuses to start otherwise (see dnchttp.ParseIdentities for why the actor is
// written so, and not "org:actor": an org id may hold ":").
// With no tokens configured it still starts, says so, and answers every API request 401.
// Phone numbers in API requests carry their country code, as in the hosted product
// (POST /api/dnc/check takes a "region" for national numbers), so the server has no
// region setting.
// It binds to loopback unless -addr says otherwise, logs with log/slog to standard
// error (never tokens, never query strings, never the prefix of a rule), and on SIGINT
// or SIGTERM stops accepting requests and lets those in flight finish (up to 10 s).
//
// Each API request has a deadline (-timeout): a Redis that does not answer by then, or
// cannot be reached, gets the client a 503 with Retry-After, never a hung request (the
// Redis client has ContextTimeoutEnabled, so the deadline cuts a command short).
// Request headers are limited to 16 KiB (431 beyond).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/dnc/dncprom"
	"github.com/dncguard/dncguard/internal/redisconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, log); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			log.Error("server failed", "err", err)
		}
		os.Exit(2)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, log *slog.Logger) error {
	addr, h, closeRedis, err := setup(ctx, args, lookupEnv, stderr, log)
	if err != nil {
		return err
	}
	defer closeRedis()

	srv := newServer(h, log)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// maxHeaderBytes bounds a request's headers; an API request needs well under 1 KiB.
const maxHeaderBytes = 16 << 10

// newServer returns the http.Server that serves h: bounded headers, and timeouts so
// that a slow or silent client cannot hold a connection.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// setup reads the flags and the environment, opens Redis, and returns the address to
// listen on, the server's handler, and a function that closes Redis.
func setup(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, log *slog.Logger) (addr string, h http.Handler, closeRedis func(), err error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	redisURL := fs.String("redis", "", "Redis URL (redis://[user:password@]host:port/db or rediss://...); default: an embedded miniredis")
	clusterURL := fs.String("redis-cluster", "", "Redis Cluster URL (redis://host:port?addr=host2:port2&addr=...)")
	timeout := fs.Duration("timeout", dnchttp.DefaultTimeout, "deadline of each API request; storage slower than this is 503")
	if err := fs.Parse(args); err != nil {
		return "", nil, nil, err
	}
	if fs.NArg() > 0 {
		return "", nil, nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *timeout <= 0 {
		return "", nil, nil, fmt.Errorf("-timeout %v: must be positive", *timeout)
	}

	env, _ := lookupEnv("DNC_API_TOKENS")
	tokens, err := dnchttp.ParseIdentities(env)
	if err != nil {
		return "", nil, nil, fmt.Errorf("DNC_API_TOKENS: %w", err)
	}
	auth, err := dnchttp.NewStaticIdentities(tokens)
	if err != nil {
		return "", nil, nil, fmt.Errorf("DNC_API_TOKENS: %w", err)
	}
	orgs := auth.Orgs()
	if v, set := lookupEnv("DNC_ORGS"); set {
		orgs = splitList(v)
	}
	dir, err := dnchttp.NewStaticOrgs(orgs...)
	if err != nil {
		return "", nil, nil, fmt.Errorf("DNC_ORGS: %w", err)
	}
	if len(tokens) == 0 {
		log.Warn("no API tokens configured: every API request will get 401; set DNC_API_TOKENS=token=org,... or token=org (actor),...")
	}
	for _, o := range auth.Orgs() {
		if !slices.Contains(orgs, o) {
			log.Warn("an org of DNC_API_TOKENS is not in DNC_ORGS: its requests will get 404", "org", o)
		}
	}
	log.Info("configured", "tokens", len(tokens), "orgs", len(orgs))

	rdb, closeRedis, err := openRedis(ctx, *redisURL, *clusterURL, log)
	if err != nil {
		return "", nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	enf, err := dnc.New(rdb, dnc.WithObserver(dncprom.New(reg)))
	if err == nil {
		h, err = newHandler(enf, auth, dir, reg, log, dnchttp.WithTimeout(*timeout))
	}
	if err != nil {
		closeRedis()
		return "", nil, nil, err
	}
	return addr, h, closeRedis, nil
}

// newHandler returns the server's handler: GET and HEAD of exactly /metrics serve reg's
// metrics, and every other request goes as it is to the DNC API over enf, which answers
// unknown and unclean paths ("/api/dnc//list", "/api/dnc/x/../list") with its JSON 404.
// (An http.ServeMux in front would answer those with a redirect to the cleaned path.)
// Every request is logged. opts configure the API further.
func newHandler(enf *dnc.Enforcer, auth dnchttp.Authenticator, orgs dnchttp.OrgDirectory, reg *prometheus.Registry, log *slog.Logger, opts ...dnchttp.Option) (http.Handler, error) {
	api, err := dnchttp.New(enf, auth, orgs, append([]dnchttp.Option{dnchttp.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, err
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return accessLog(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			api.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: /metrics allows GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		metrics.ServeHTTP(w, r)
	})), nil
}

// openRedis returns the client of the Redis to use, checked with a PING when it is a
// real one, and a function that closes it.
func openRedis(ctx context.Context, url, clusterURL string, log *slog.Logger) (redis.UniversalClient, func(), error) {
	rdb, where, embedded, closeRedis, err := redisconn.Open(url, clusterURL)
	if err != nil {
		return nil, nil, err
	}
	if embedded {
		log.Warn("using an embedded in-memory Redis (miniredis): data is lost on exit; give -redis URL for a real one")
		return rdb, closeRedis, nil
	}
	log.Info("using " + where)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		closeRedis()
		return nil, nil, fmt.Errorf("redis: ping: %w", err)
	}
	return rdb, closeRedis, nil
}

// splitList splits a comma-separated list, dropping white space and empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// accessLog logs each request's method, path (no query string: it may hold phone
// numbers), status and duration. It never logs headers, so never a token.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", logPath(r.URL.Path), "status", sw.code,
			"took", time.Since(start).Round(time.Microsecond))
	})
}

// rulesPath is where DELETE /api/dnc/rules/{prefix} names a rule.
const rulesPath = "/api/dnc/rules/"

// logPath returns path as the access log shows it: the prefix of a rule, which may be a
// whole phone number, is left out ("/api/dnc/rules/{prefix}").
func logPath(path string) string {
	if strings.HasPrefix(path, rulesPath) && len(path) > len(rulesPath) {
		return rulesPath + "{prefix}"
	}
	return path
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

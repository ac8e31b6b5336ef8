// Package store keeps DNC state in Redis: the per-org switch and the org's list of
// numbers with their entries. It receives numbers already in E.164 and org ids already
// checked (CheckOrg); it knows nothing of parsing or policy.
//
// The layout (keys.go) holds a listed number, its metadata and its place in the
// listing order in small listpack hashes under the org's hash tag, so a million
// numbers cost about what a plain SET of them costs. A check is one HMGET of one
// bucket (check.go); every write is a Lua script (embedded from lua/*.lua, run with
// go-redis' Script: EVALSHA, falling back to EVAL), and a call that carries many
// numbers sends its scripts in one pipeline. A Store is safe for concurrent use.
package store

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

// script returns the embedded script name behind the shared functions of lib.lua and
// of the other libraries it names (lib_counts.lua, lib_index.lua), in that order. A
// script runs all of its libraries' definitions at every call (about 0.2 µs a
// function here), so each takes only the ones it needs.
func script(name string, libs ...string) *redis.Script {
	var src strings.Builder
	for _, f := range append(append([]string{"lib.lua"}, libs...), name) {
		b, err := luaFS.ReadFile("lua/" + f)
		if err != nil {
			panic(err) // embedded at build time: cannot happen
		}
		src.Write(b)
		src.WriteString("\n")
	}
	return redis.NewScript(src.String())
}

var (
	checkScript        = script("check.lua")
	checkManyScript    = script("check_many.lua")
	toggleScript       = script("toggle.lua", "lib_audit.lua")
	addScript          = script("add.lua", "lib_counts.lua", "lib_index.lua", "lib_audit.lua")
	removeScript       = script("remove.lua", "lib_counts.lua", "lib_index.lua", "lib_audit.lua")
	ruleScript         = script("rule.lua", "lib_audit.lua")
	rulesStampScript   = script("rules_stamp.lua")
	rulesGetScript     = script("rules_get.lua")
	expiredScript      = script("expired.lua")
	getScript          = script("get.lua")
	listScript         = script("list.lua", "lib_counts.lua")
	scanScript         = script("scan.lua")
	searchNumberScript = script("search_number.lua", "lib_index.lua")
	searchTextScript   = script("search_text.lua", "lib_index.lua")
)

// ChunkSize is how many numbers one check_many script carries at most (the batch
// check's fallback when the org's bucket table has grown since it was last read): about
// 1 ms of Redis time here, like a write script of WriteChunk numbers.
const ChunkSize = 500

// WriteChunk is how many numbers one add or remove script writes at most: about 1 ms
// of Redis time on the 2-core machines this is measured on (an add or a remove, with
// the search indexes, costs Redis 20 to 40 µs of CPU a number there, and a script some
// 100 µs besides, most of it for the Fenwick counts), so that a check queued behind a
// write waits little. Twice as many would save about a tenth of a bulk write's time
// and double that wait.
const WriteChunk = 32

// WriteChunkMeta is how many entries one add script writes at most when one of them has
// metadata or an expiry: such an entry costs Redis about twice what a plain one does
// (its postings and its requestUUID's fingerprint): scripts of WriteChunk of them held
// Redis for over 2 ms 0.5 to 22% of the time in TestWriteCost's runs, and of 16, 0.06
// to 0.4%.
const WriteChunkMeta = 16

// Errors of the storage layer.
var (
	// ErrBadReply: Redis answered with a reply of a shape the store did not ask for, or
	// the org's keys hold data the store did not write.
	ErrBadReply = errors.New("store: unexpected reply from redis")
	// ErrSchema: the org's data is of another layout version (SchemaVersion); nothing
	// was read or written.
	ErrSchema = errors.New("store: data of another layout version")
	// ErrFull: the org has used all MaxSeq sequence numbers, or its dictionary of
	// metadata texts is full (2^24 - 1); nothing was written.
	ErrFull = errors.New("store: the org's sequence numbers are used up")
	// ErrInvalidArgument: a value the layout cannot store (an expiry out of range, a
	// rule that is not E.164 digits); nothing was written.
	ErrInvalidArgument = errors.New("store: invalid argument")
	// ErrTooManyRules: the org has MaxRules rules already; nothing was written.
	ErrTooManyRules = errors.New("store: too many rules")
)

// Store is the Redis storage of DNC state.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	c      caches

	replicas       int // SetReplicas
	replicaTimeout time.Duration

	searchChunks int // chunks a number search script reads; 0: SearchChunks (tests set fewer)

	auditAge    int64 // SetAudit: the audit log's retention in ms (0: no bound by age)
	auditMaxLen int64 // and its longest length (0: no bound)
}

// New returns a Store over rdb whose keys start with prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix, c: newCaches(), auditAge: DefaultAuditRetention.Milliseconds()}
}

// Entry is one listed number and what is known of it.
type Entry struct {
	ID          string    // opaque, stable for the life of the entry (24 hex digits)
	Number      string    // E.164
	Type        string    // classification, e.g. "customer_request"; may be empty
	BatchID     string    // the campaign or batch the opt-out came from; may be empty
	RequestUUID string    // the call or request that produced the opt-out; may be empty
	CreatedAt   time.Time // when it was listed, in ms precision, UTC
	ExpiresAt   time.Time // when it stops blocking, by the Redis server's clock, in s precision, UTC; zero: never
	Seq         uint64    // its place in the org's listing order (the org's n-th listing has Seq n); 0 when unknown
}

// State is the outcome of a check.
type State int8

const (
	Disabled  State = iota // DNC is switched off for the org
	NotListed              // enabled, and the number is not on the list
	Listed                 // enabled, and the number is on the list
	Ruled                  // enabled, the number is not on the list (or its entry expired), and a rule matches it
)

// errNotE164 guards the scripts: only "+" and 1 to 15 digits, the first not 0.
var errNotE164 = errors.New("store: numbers must be E.164")

// digits returns number without its "+", or an error if it is not E.164.
func digits(number string) (string, error) {
	d, _, err := digitsAndValue(number)
	return d, err
}

// digitsAndValue is digits, with the digits' value.
func digitsAndValue(number string) (string, uint64, error) {
	if len(number) < 2 || number[0] != '+' {
		return "", 0, fmt.Errorf("%w: %q", errNotE164, number)
	}
	n, ok := parseDigits(number[1:])
	if !ok {
		return "", 0, fmt.Errorf("%w: %q", errNotE164, number)
	}
	return number[1:], n, nil
}

// parseDigits returns the value of d and whether d is a number's digits in E.164: 1 to
// 15 ASCII digits, the first not 0; one pass.
func parseDigits(d string) (uint64, bool) {
	if len(d) == 0 || len(d) > 15 || d[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(d[i]-'0')
	}
	return n, true
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// scriptErr turns the scripts' own error replies into the store's errors.
func scriptErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	after := func(tag string) string { // what the script said after its tag
		return strings.TrimPrefix(msg[strings.Index(msg, tag)+len(tag):], " ")
	}
	switch {
	case strings.Contains(msg, "DNCSCHEMA"):
		return fmt.Errorf("%w: %s", ErrSchema, after("DNCSCHEMA"))
	case strings.Contains(msg, "DNCBROAD"):
		return fmt.Errorf("%w: %s", ErrSearchTooBroad, after("DNCBROAD"))
	case strings.Contains(msg, "DNCFULL"):
		return ErrFull
	case strings.Contains(msg, "DNCRULES"):
		return fmt.Errorf("%w: %s", ErrTooManyRules, after("DNCRULES"))
	case strings.Contains(msg, "DNCCORRUPT"):
		return fmt.Errorf("%w: %s", ErrBadReply, msg)
	}
	return err
}

func (s *Store) runRO(ctx context.Context, sc *redis.Script, org string, args ...any) *redis.Cmd {
	k := orgKeys(s.prefix, org)
	return sc.RunRO(ctx, s.rdb, k[:], args...)
}

// pipeline runs sc once per batch of arguments, all in one pipeline (one round trip
// per node), and returns each run's reply in order. A run answered NOSCRIPT (the server
// restarted or its script cache was flushed) did nothing: the script is loaded and
// those runs, and only those, are sent again, in order.
//
// A write (ro false) under SetReplicas ends its pipeline with WAIT on the node that
// holds the org, so the pipeline's writes (and every earlier one) are acknowledged by
// that many replicas, or the error wraps ErrNotReplicated: the writes are done.
func (s *Store) pipeline(ctx context.Context, sc *redis.Script, ro bool, org string, batches [][]any) ([]any, error) {
	k := orgKeys(s.prefix, org)
	out := make([]any, len(batches))
	todo := make([]int, len(batches))
	for i := range todo {
		todo[i] = i
	}
	var c redis.Cmdable = s.rdb
	wait := !ro && s.replicas > 0
	if len(batches) == 0 {
		return out, nil
	}
	if wait {
		var err error
		if c, err = s.writer(ctx, k[0]); err != nil {
			return out, err
		}
	}
	for attempt := 0; ; attempt++ {
		pipe := c.Pipeline()
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			if ro {
				cmds[j] = sc.EvalShaRO(ctx, pipe, k[:], batches[i]...)
			} else {
				cmds[j] = sc.EvalSha(ctx, pipe, k[:], batches[i]...)
			}
		}
		var acked *redis.IntCmd
		if wait {
			acked = redis.NewIntCmd(ctx, "wait", s.replicas, max(1, s.replicaTimeout.Milliseconds())) // WAIT 0 waits forever
			_ = pipe.Process(ctx, acked)
		}
		_, _ = pipe.Exec(ctx) // each command's error is read below
		var again []int
		var failed error
		for j, c := range cmds {
			v, err := c.Result()
			switch {
			case err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, todo[j])
			case err != nil:
				failed = cmp.Or(failed, scriptErr(err))
			default:
				out[todo[j]] = v
			}
		}
		if failed != nil {
			return out, failed
		}
		if len(again) == 0 {
			if wait {
				return out, s.replicated(acked)
			}
			return out, nil
		}
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return out, err
		}
		todo = again
	}
}

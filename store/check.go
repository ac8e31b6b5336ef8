package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Check reports in one round trip whether DNC is enabled for org (defaultEnabled when
// never set) and, if so, whether number is listed (an entry that has expired by the
// Redis server's clock is not) or matched by one of the org's rules (Ruled); for a
// listed number it also returns its entry (the number alone, and an error wrapping
// ErrBadReply, when its record cannot be read). On any error the state is Listed.
func (s *Store) Check(ctx context.Context, org, number string, defaultEnabled bool) (State, Entry, error) {
	r, err := s.Lookup(ctx, org, number, defaultEnabled)
	return r.State, r.Entry, err
}

// CheckEpoch is Check that also returns the epoch of the org's data: a random marker
// that the org's first write sets and that lasts as long as its data, "" when the org
// has no data. Data that comes back under another epoch, or none, was lost (a Redis
// restart without persistence, a flush) or replaced.
func (s *Store) CheckEpoch(ctx context.Context, org, number string, defaultEnabled bool) (State, Entry, string, error) {
	r, err := s.Lookup(ctx, org, number, defaultEnabled)
	return r.State, r.Entry, r.Epoch, err
}

// Result is the outcome of Lookup.
type Result struct {
	State State
	Entry Entry  // Listed: the entry
	Rule  string // the longest of the org's rules that the number begins with ("+" and digits), or ""; set for Listed too
	Epoch string // the epoch of the org's data (CheckEpoch)
}

// Lookup is Check with all it learns. The round trip is one HMGET of the bucket that
// the org's bucket table, as this Store last saw it, names for the number: it answers
// with the number's record, the bucket's own depth, and its stamp (the org's switch, the
// version of its rules, and its data epoch). The number is matched against the org's
// rules of that version, which this Store keeps (it reads them when the version is new
// to it: one more round trip, once per change of the org's rules). Once a check has met
// an entry of the org that expires, the org's checks send the server's clock with the
// HMGET, in one pipeline (TIME; on Redis Cluster and Ring, which send a command without
// a key to a node of their choosing, a read-only script on the org's node); the check
// that met it asks again, once. When the depth shows that the table has grown past
// what this Store saw, or the bucket does not exist, the check asks again with a
// read-only script that reads the table's size first (check.lua), and remembers the
// size. A listed entry's type and batch texts come from a cache of the org's
// dictionary, keyed by the epoch; a text not yet cached costs one more read.
func (s *Store) Lookup(ctx context.Context, org, number string, defaultEnabled bool) (Result, error) {
	d, v, err := digitsAndValue(number)
	if err != nil {
		return Result{State: Listed}, err
	}
	a := s.c.asksOf(org)
	r, more, err := s.lookup(ctx, org, d, v, number, defaultEnabled, a)
	if more != a && err == nil {
		s.c.setAsks(org, more)
		if more.clock && !a.clock {
			r, _, err = s.lookup(ctx, org, d, v, number, defaultEnabled, more)
		}
	}
	return r, err
}

// lookup is one try of Lookup for the number with digits d (value v), asking for what a
// says; it returns what the org needs asked (which, when more than a, makes its answer
// void).
func (s *Store) lookup(ctx context.Context, org, d string, v uint64, number string, defaultEnabled bool, a asks) (Result, asks, error) {
	h := hashValue(v)
	size := s.c.size(org)
	var tm redis.Cmder
	hm := redis.NewSliceCmd(ctx, "hmget", bucketKey(s.prefix, org, size.bucket(h)), d, "~d", "~e")
	if !a.clock {
		_ = s.rdb.Process(ctx, hm)
	} else {
		pipe := s.rdb.Pipeline()
		_ = pipe.Process(ctx, hm)
		tm = s.timeCmd(ctx, org)
		_ = pipe.Process(ctx, tm)
		_, _ = pipe.Exec(ctx)
	}
	if err := hm.Err(); err != nil {
		return Result{State: Listed}, a, err
	}
	vals := hm.Val()
	if len(vals) != 3 {
		return Result{State: Listed}, a, fmt.Errorf("%w: check: %d values", ErrBadReply, len(vals))
	}
	depth, ok1 := vals[1].(string)
	st, ok2 := vals[2].(string)
	on, epoch, ok3 := readStamp(st, defaultEnabled)
	if !ok1 || !ok2 || !ok3 || !size.home(h, depth) {
		if vals[1] == nil && vals[2] == nil && s.c.empty(org) {
			return Result{State: enabledState(defaultEnabled)}, a, nil // org has no data (see checkSlow)
		}
		r, err := s.checkSlow(ctx, org, d, defaultEnabled)
		return r, a, err
	}
	r := Result{Epoch: epoch}
	if !on {
		r.State = Disabled
		return r, a, nil
	}
	rules, err := s.rulesOf(ctx, org, st, epoch)
	if err != nil {
		return Result{State: Listed}, a, err
	}
	r.Rule = rules.match(d, v)
	if vals[0] == nil {
		r.State = notListed(r.Rule)
		return r, a, nil
	}
	rec, ok := vals[0].(string)
	if !ok {
		r.State, r.Entry = Listed, Entry{Number: number}
		return r, a, fmt.Errorf("%w: check: record %T", ErrBadReply, vals[0])
	}
	if x, ok := recordExpiry(rec); ok {
		if tm == nil {
			return Result{State: Listed}, asks{clock: true}, nil // asked again, with the clock
		}
		now, err := readTime(tm)
		if err != nil {
			return Result{State: Listed}, a, err
		}
		if float64(x) <= now {
			r.State = notListed(r.Rule) // expired
			return r, a, nil
		}
	}
	r.State, r.Entry = Listed, Entry{Number: number}
	dict, err := s.texts(ctx, org, epoch, rec)
	if err != nil {
		return r, a, err
	}
	if r.Entry, err = decodeRecord(keyOf(org), d, rec, dict); err != nil {
		r.Entry = Entry{Number: number}
	}
	return r, a, err
}

// rulesOf returns org's rules as of a bucket's stamp st (of data epoch epoch): the
// newest this Store has read, when they are of the version the stamp names or a later
// one (a stamp may name an older one: a change's walk has not reached the bucket yet,
// or a process of an older release rewrote the stamp without its version); else read
// again (rulesNow). None when neither the stamp nor the Store knows of any.
func (s *Store) rulesOf(ctx context.Context, org, st, epoch string) (ruleSet, error) {
	rv, ok := stampRules(st)
	if !ok {
		return ruleSet{}, fmt.Errorf("%w: stamp %q", ErrBadReply, st)
	}
	if c := s.c.rulesOf(org); c.epoch == epoch && c.rv >= rv {
		return c.set, nil
	}
	if rv == 0 {
		return ruleSet{}, nil
	}
	return s.rulesNow(ctx, org, epoch, rv)
}

// rulesNow reads org's rules with their version in one read-only script, which must be
// rv or later, and keeps them.
func (s *Store) rulesNow(ctx context.Context, org, epoch string, rv uint64) (ruleSet, error) {
	reply, err := s.runRO(ctx, rulesGetScript, org).Slice()
	if err != nil {
		return ruleSet{}, scriptErr(err)
	}
	got, ok := reply[0].(int64)
	if !ok || uint64(got) < rv {
		return ruleSet{}, fmt.Errorf("%w: rules of version %v; a bucket names version %d", ErrBadReply, reply[0], rv)
	}
	ds := make([]string, 0, len(reply)-1)
	for _, v := range reply[1:] {
		d, ok := v.(string)
		if !ok {
			return ruleSet{}, fmt.Errorf("%w: rule %v", ErrBadReply, v)
		}
		ds = append(ds, d)
	}
	set, err := newRuleSet(ds)
	if err != nil {
		return ruleSet{}, err
	}
	s.c.setRules(org, orgRules{epoch: epoch, rv: uint64(got), set: set})
	return set, nil
}

// notListed is the state of a number that is not listed (or whose entry expired), by
// whether a rule matches it.
func notListed(rule string) State {
	if rule != "" {
		return Ruled
	}
	return NotListed
}

func enabledState(on bool) State {
	if on {
		return NotListed
	}
	return Disabled
}

// rulesKey is the set of org's rules: the digits of each prefix.
func rulesKey(prefix, org string) string { return Base(prefix, org) + "rules" }

// timeScript reads the server's clock on the node that holds the key it is given. It is
// sent whole (EVAL_RO), not by its hash: it is shorter than a hash, and a server that
// has lost its script cache cannot refuse it.
const timeScript = "return redis.call('TIME')"

// timeCmd reads the clock of the server that holds org: TIME on a single server, and
// the time script run on the org's meta key where a client would send TIME to a node of
// its own choosing (Redis Cluster, Ring).
func (s *Store) timeCmd(ctx context.Context, org string) redis.Cmder {
	if _, single := s.rdb.(*redis.Client); single {
		return redis.NewTimeCmd(ctx, "time")
	}
	k := orgKeys(s.prefix, org)
	return redis.NewSliceCmd(ctx, "eval_ro", timeScript, 1, k[0])
}

// readTime returns the server's clock that timeCmd read, in Unix seconds.
func readTime(c redis.Cmder) (float64, error) {
	switch c := c.(type) {
	case *redis.TimeCmd:
		t, err := c.Result()
		if err != nil {
			return 0, err
		}
		return float64(t.UnixMicro()) / 1e6, nil
	case *redis.SliceCmd:
		v, err := c.Result()
		if err != nil {
			return 0, err
		}
		if len(v) == 2 {
			sec, ok1 := v[0].(string)
			usec, ok2 := v[1].(string)
			a, err1 := strconv.ParseInt(sec, 10, 64)
			b, err2 := strconv.ParseInt(usec, 10, 64)
			if ok1 && ok2 && err1 == nil && err2 == nil {
				return float64(a) + float64(b)/1e6, nil
			}
		}
		return 0, fmt.Errorf("%w: time: %v", ErrBadReply, v)
	}
	return 0, fmt.Errorf("%w: time: %T", ErrBadReply, c)
}

// checkSlow is Check by the read-only script that reads the org's table size first,
// pipelined with the server's clock. It remembers that size, and that an org has no
// data at all (so that its next checks, for a second, answer from the missing bucket
// alone).
func (s *Store) checkSlow(ctx context.Context, org, d string, defaultEnabled bool) (Result, error) {
	k := orgKeys(s.prefix, org)
	var reply []any
	var now float64
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		cmd := checkScript.EvalShaRO(ctx, pipe, k[:], d, flag(defaultEnabled))
		tm := s.timeCmd(ctx, org)
		_ = pipe.Process(ctx, tm)
		_, _ = pipe.Exec(ctx)
		err := cmd.Err()
		if err == nil {
			err = tm.Err()
		}
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := checkScript.Load(ctx, s.rdb).Err(); err != nil {
				return Result{State: Listed}, err
			}
			continue
		}
		if err != nil {
			return Result{State: Listed}, scriptErr(err)
		}
		if reply, err = cmd.Slice(); err != nil {
			return Result{State: Listed}, err
		}
		if now, err = readTime(tm); err != nil {
			return Result{State: Listed}, err
		}
		break
	}
	if len(reply) < 5 {
		return Result{State: Listed}, fmt.Errorf("%w: check: %d values", ErrBadReply, len(reply))
	}
	state, ok0 := reply[0].(int64)
	L, ok1 := reply[1].(int64)
	p, ok2 := reply[2].(int64)
	epoch, ok3 := reply[3].(string)
	rule, ok4 := reply[4].(string)
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || L < 0 || L > 40 || p < 0 || p >= 1<<L || state < 0 || state > 2 {
		return Result{State: Listed}, fmt.Errorf("%w: check: %v", ErrBadReply, reply[:5])
	}
	s.c.setSize(org, tableSize{L: uint8(L), p: uint64(p)}, epoch == "")
	r := Result{Epoch: epoch}
	if rule != "" {
		r.Rule = "+" + rule
	}
	switch {
	case state == 0:
		r.State = Disabled
		return r, nil
	case state == 1:
		r.State = notListed(r.Rule)
		return r, nil
	case d == "" || len(reply) < 6:
		r.State = Listed
		return r, fmt.Errorf("%w: check: listed without a record", ErrBadReply)
	}
	if rec, ok := reply[5].(string); ok {
		if x, ok := recordExpiry(rec); ok && float64(x) <= now {
			r.State = notListed(r.Rule) // expired
			return r, nil
		}
	}
	r.State = Listed
	var err error
	r.Entry, err = readEntry(org, d, reply[5:])
	return r, err
}

// serverTime reads the clock of the server that holds org, in Unix seconds.
func (s *Store) serverTime(ctx context.Context, org string) (float64, error) {
	tm := s.timeCmd(ctx, org)
	_ = s.rdb.Process(ctx, tm)
	return readTime(tm)
}

// readEntry decodes {record, index, text, ...} of the number with digits d.
func readEntry(org, d string, reply []any) (Entry, error) {
	rec, ok := reply[0].(string)
	if !ok {
		return Entry{Number: "+" + d}, fmt.Errorf("%w: record %T", ErrBadReply, reply[0])
	}
	dict, err := readDict(reply[1:])
	if err != nil {
		return Entry{Number: "+" + d}, err
	}
	return decodeRecord(keyOf(org), d, rec, dict)
}

// readDict reads index, text pairs; a text that is missing (nil) is left out, so that
// the record naming it fails to decode.
func readDict(kv []any) (map[uint64]string, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("%w: dictionary of %d values", ErrBadReply, len(kv))
	}
	dict := make(map[uint64]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		idx, ok := kv[i].(int64)
		if !ok || idx <= 0 {
			return nil, fmt.Errorf("%w: dictionary index %v", ErrBadReply, kv[i])
		}
		if text, ok := kv[i+1].(string); ok {
			dict[uint64(idx)] = text
		}
	}
	return dict, nil
}

// CheckMany reports whether DNC is enabled for org and, when it is, which of numbers
// (E.164) are listed (listed[i] for numbers[i]), in one round trip to the node that
// holds the org (see CheckManyEpoch). If the org's switch or data changes while the
// batch is read, it asks again, and then fails with ErrBadReply rather than answer for
// part of the batch.
func (s *Store) CheckMany(ctx context.Context, org string, numbers []string, defaultEnabled bool) (enabled bool, listed []bool, err error) {
	enabled, listed, _, err = s.CheckManyEpoch(ctx, org, numbers, defaultEnabled)
	return enabled, listed, err
}

// CheckManyEpoch is CheckMany that also returns the epoch of the org's data, as
// CheckEpoch does.
func (s *Store) CheckManyEpoch(ctx context.Context, org string, numbers []string, defaultEnabled bool) (enabled bool, listed []bool, epoch string, err error) {
	r, err := s.LookupMany(ctx, org, numbers, defaultEnabled)
	return r.Enabled, r.Listed, r.Epoch, err
}

// ManyResult is the outcome of LookupMany.
type ManyResult struct {
	Enabled bool
	Listed  []bool   // Listed[i]: numbers[i] is listed (and its entry has not expired); nil when not Enabled
	Rule    []string // Rule[i]: the longest rule numbers[i] begins with, or ""; nil when the org has no rules or is not Enabled
	Epoch   string
}

// LookupMany is CheckMany with the rules that match and the epoch. An entry that has
// expired by the Redis server's clock is not listed.
//
// It reads the buckets the numbers lie in, all in one pipeline (see checkBuckets);
// when the org's bucket table has grown since this Store last saw it, it reads the
// table's size and tries once more, and else asks read-only scripts (check_many.lua)
// that compute the buckets themselves.
func (s *Store) LookupMany(ctx context.Context, org string, numbers []string, defaultEnabled bool) (ManyResult, error) {
	if len(numbers) == 0 {
		on, err := s.Enabled(ctx, org, defaultEnabled)
		return ManyResult{Enabled: on, Listed: []bool{}}, err
	}
	ds := make([]string, len(numbers))
	ns := make([]uint64, len(numbers)) // the digits' values
	for i, n := range numbers {
		var err error
		if ds[i], ns[i], err = digitsAndValue(n); err != nil {
			return ManyResult{Enabled: true}, err
		}
	}
	for try := 0; try < 2; try++ {
		r, st, err := s.checkBuckets(ctx, org, ds, ns, defaultEnabled)
		if !errors.Is(err, errStale) {
			if err == nil && r.Enabled {
				var rules ruleSet
				if rules, err = s.rulesOf(ctx, org, st, r.Epoch); err == nil {
					r.Rule = matchRules(rules, ds, ns)
				}
			}
			return r, err
		}
		if _, err := s.checkSlow(ctx, org, "", defaultEnabled); err != nil { // learns the table's size
			return ManyResult{Enabled: true}, err
		}
	}
	r, err := s.checkManyScripts(ctx, org, ds, defaultEnabled)
	if err != nil || !r.Enabled {
		return r, err
	}
	rules, err := s.rulesNow(ctx, org, r.Epoch, 0) // the scripts read no stamp: the rules as they are
	if err != nil {
		return ManyResult{Enabled: true}, err
	}
	r.Rule = matchRules(rules, ds, ns)
	return r, nil
}

// matchRules returns the rule that each number begins with, or nil when there are none.
func matchRules(rules ruleSet, ds []string, ns []uint64) []string {
	if len(rules.lens) == 0 {
		return nil
	}
	out := make([]string, len(ds))
	for i := range ds {
		out[i] = rules.match(ds[i], ns[i])
	}
	return out
}

// errStale: a bucket read is not the home of a number it was read for (the table grew),
// or is missing.
var errStale = errors.New("bucket table out of date")

// A bucket asked for at most fewFields numbers is read with one HMGET of them (about
// 0.5 µs of Redis time a field: each scans the bucket's listpack); one asked for more is
// read whole, between two reads of its depth and stamp: by its field names (HKEYS), or,
// in an org whose entries can expire, with its records (HGETALL), whose expiries say
// which entries still count.
const fewFields = 32

// checkBuckets is CheckManyEpoch by the buckets of the org's table as this Store last
// saw it, all read in one pipeline; errStale when that is out of date.
//
// It groups the numbers by bucket and reads each bucket with its depth and stamp: a
// few numbers by one HMGET, as Check does; many whole (HKEYS, or HGETALL; see
// fewFields), with HMGET of the depth and stamp before and after it, which must agree:
// a bucket's depth only grows while the org's data lasts (a split), and its stamp names
// the data's epoch, so the fields read in between are those of the same bucket, at the
// same depth, of the same data. Each bucket's depth shows whether it is still the home
// of the numbers read from it (the table may have grown since this Store saw it), and
// all stamps must agree (the switch and epoch did not change between two buckets'
// reads).
//
// The same pipeline reads the server's clock, by which a listed entry that has expired
// is not listed, and whether the org has entries that expire. It returns the buckets'
// stamp too, whose rules version says which rules apply (rulesOf).
func (s *Store) checkBuckets(ctx context.Context, org string, ds []string, ns []uint64, defaultEnabled bool) (ManyResult, string, error) {
	fail := func(err error) (ManyResult, string, error) { return ManyResult{Enabled: true}, "", err }
	size := s.c.size(org)
	all := make([]uint64, 2*len(ds))
	hs, bs := all[:len(ds)], all[len(ds):]
	for i, n := range ns {
		hs[i] = hashValue(n)
		bs[i] = size.bucket(hs[i])
	}
	order := byBucket(bs, size)
	var groups []bucketGroup
	nsmall, nbig := 0, 0
	for lo := 0; lo < len(order); {
		b, hi := bs[order[lo]], lo+1
		for hi < len(order) && bs[order[hi]] == b {
			hi++
		}
		groups = append(groups, bucketGroup{b, lo, hi})
		if hi-lo <= fewFields {
			nsmall += hi - lo
		} else {
			nbig++
		}
		lo = hi
	}

	// The arguments of all commands in one slice, the keys and numbers by pointer
	// (go-redis writes a *string as the string), so that they cost no allocation each.
	pipe := s.rdb.Pipeline()
	keys := bucketKeys(s.prefix, org, groups)
	args := make([]any, 0, 4*(len(groups)-nbig)+nsmall+(4+2+4)*nbig)
	cmds := make([]*redis.SliceCmd, 0, len(groups)+nbig)
	// A bucket read whole is read with its records (HGETALL) once this Store knows that
	// the org has entries that expire, else by its field names alone (HKEYS, about half
	// the bytes); the meta hash's "fx" says whether it has any.
	whole := s.c.asksOf(org).clock
	var alls []*redis.MapStringStringCmd
	var names []*redis.StringSliceCmd
	tm := s.timeCmd(ctx, org)
	fx := redis.NewStringCmd(ctx, "hget", orgKeys(s.prefix, org)[0], "fx")
	_ = pipe.Process(ctx, tm)
	_ = pipe.Process(ctx, fx)
	for j, g := range groups {
		at := len(args)
		args = append(args, "hmget", &keys[j], "~d", "~e")
		if g.hi-g.lo <= fewFields {
			for _, i := range order[g.lo:g.hi] {
				args = append(args, &ds[i])
			}
			cmds = append(cmds, redis.NewSliceCmd(ctx, args[at:len(args):len(args)]...))
			_ = pipe.Process(ctx, cmds[len(cmds)-1])
			continue
		}
		before := redis.NewSliceCmd(ctx, args[at:len(args):len(args)]...)
		_ = pipe.Process(ctx, before)
		if whole {
			args = append(args, "hgetall", &keys[j])
			hk := redis.NewMapStringStringCmd(ctx, args[at+4:len(args):len(args)]...)
			alls = append(alls, hk)
			_ = pipe.Process(ctx, hk)
		} else {
			args = append(args, "hkeys", &keys[j])
			hk := redis.NewStringSliceCmd(ctx, args[at+4:len(args):len(args)]...)
			names = append(names, hk)
			_ = pipe.Process(ctx, hk)
		}
		args = append(args, "hmget", &keys[j], "~d", "~e")
		after := redis.NewSliceCmd(ctx, args[at+6:len(args):len(args)]...)
		cmds = append(cmds, before, after)
		_ = pipe.Process(ctx, after)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fail(err)
	}
	now, err := readTime(tm)
	if err != nil {
		return fail(err)
	}
	expiring := fx.Val() == "1" // the org has (had) entries that expire
	if expiring && !whole {
		s.c.setAsks(org, asks{clock: true})
	}
	live := func(rec string) bool { // a listed entry that has not expired
		x, ok := recordExpiry(rec)
		return !ok || float64(x) > now
	}
	var unsure []int32 // listed in a bucket read by its names alone, in an org whose entries can expire

	r := bucketReader{listed: make([]bool, len(ds)), hs: hs, bs: bs, order: order}
	var sorted []uint64
	for _, g := range groups {
		vals, err := cmds[0].Result()
		if err != nil {
			return fail(err)
		}
		if g.hi-g.lo <= fewFields {
			cmds = cmds[1:]
			if len(vals) != g.hi-g.lo+2 {
				return fail(fmt.Errorf("%w: check many: %d values", ErrBadReply, len(vals)))
			}
			if ok, err := r.bucket(g, vals[0], vals[1]); err != nil {
				return fail(err)
			} else if ok {
				for j, i := range order[g.lo:g.hi] {
					rec, ok := vals[2+j].(string)
					r.listed[i] = vals[2+j] != nil && (!ok || live(rec))
				}
			}
			continue
		}
		after, err := cmds[1].Result()
		if err != nil {
			return fail(err)
		}
		cmds = cmds[2:]
		if len(vals) != 2 || len(after) != 2 {
			return fail(fmt.Errorf("%w: check many: %d, %d values", ErrBadReply, len(vals), len(after)))
		}
		if !sameReply(vals[0], after[0]) || !sameReply(vals[1], after[1]) {
			return fail(errStale) // the bucket split, or the org switched or was reset, while it was read
		}
		var hasDepth bool
		var recs map[string]string
		if whole {
			if recs, err = alls[0].Result(); err != nil {
				return fail(err)
			}
			alls = alls[1:]
			_, hasDepth = recs["~d"]
		} else {
			fields, err := names[0].Result()
			if err != nil {
				return fail(err)
			}
			names = names[1:]
			sorted, hasDepth = numbersOf(sorted[:0], fields)
		}
		if !hasDepth && vals[0] != nil {
			return fail(errStale) // the bucket was deleted and made again while it was read
		}
		if ok, err := r.bucket(g, vals[0], vals[1]); err != nil {
			return fail(err)
		} else if ok {
			for _, i := range order[g.lo:g.hi] {
				if whole {
					rec, listed := recs[ds[i]]
					r.listed[i] = listed && live(rec)
					continue
				}
				if _, r.listed[i] = slices.BinarySearch(sorted, ns[i]); r.listed[i] && expiring {
					unsure = append(unsure, i)
				}
			}
		}
	}
	if len(unsure) > 0 {
		// The org's entries can expire, which this Store learns now: the records of the
		// numbers found listed by name alone, in one more round trip (the org's next
		// batches read such buckets whole).
		if err := s.expiredOf(ctx, org, ds, bs, unsure, r.listed, live); err != nil {
			return fail(err)
		}
	}
	if r.missing {
		if r.stamp != "" || !s.c.empty(org) {
			return fail(errStale)
		}
		return ManyResult{Enabled: defaultEnabled, Listed: make([]bool, len(ds))}, "", nil // the org has no data
	}
	on, epoch, ok := readStamp(r.stamp, defaultEnabled)
	if !ok {
		return fail(fmt.Errorf("%w: check many: stamp %q", ErrBadReply, r.stamp))
	}
	if !on {
		return ManyResult{Epoch: epoch}, r.stamp, nil
	}
	return ManyResult{Enabled: true, Listed: r.listed, Epoch: epoch}, r.stamp, nil
}

// expiredOf reads the records of the numbers ds[i], i in at, from the buckets bs[i] they
// were found listed in, and keeps listed[i] only for those still there and live.
func (s *Store) expiredOf(ctx context.Context, org string, ds []string, bs []uint64, at []int32, listed []bool, live func(string) bool) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(at))
	for j, i := range at {
		cmds[j] = pipe.HGet(ctx, bucketKey(s.prefix, org, bs[i]), ds[i])
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for j, i := range at {
		rec, err := cmds[j].Result()
		switch {
		case errors.Is(err, redis.Nil):
			listed[i] = false // removed meanwhile
		case err != nil:
			return err
		default:
			listed[i] = live(rec)
		}
	}
	return nil
}

// sameReply reports whether a and b are both nil or the same string.
func sameReply(a, b any) bool {
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	return (a == nil && b == nil) || (ok1 && ok2 && as == bs)
}

// bucketGroup is the numbers order[lo:hi], all of bucket b.
type bucketGroup struct {
	b      uint64
	lo, hi int
}

// bucketReader checks the buckets read for a batch and sets listed.
type bucketReader struct {
	listed  []bool
	hs, bs  []uint64 // each number's hash and the bucket it was read from
	order   []int32
	stamp   string // the stamp every bucket read so far carries
	missing bool   // a bucket was missing
}

// bucket checks the depth and stamp that group g's bucket was read with: false when
// the bucket is missing, errStale when it is not the home of all of the group's
// numbers or its stamp is not that of the buckets before.
func (r *bucketReader) bucket(g bucketGroup, depth, stamp any) (bool, error) {
	if depth == nil && stamp == nil {
		r.missing = true // no such bucket: the org has no data, or the table shrank (reset)
		return false, nil
	}
	dstr, ok1 := depth.(string)
	sstr, ok2 := stamp.(string)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("%w: check many: bucket fields %T %T", ErrBadReply, depth, stamp)
	}
	if r.stamp != "" && sstr != r.stamp {
		return false, errStale // switched, or reset, between two buckets
	}
	r.stamp = sstr
	D, ok := parseDepth(dstr)
	if !ok {
		return false, fmt.Errorf("%w: check many: bucket depth %q", ErrBadReply, dstr)
	}
	for _, i := range r.order[g.lo:g.hi] {
		if !homeOf(r.hs[i], D, r.bs[i]) {
			return false, errStale
		}
	}
	return true, nil
}

// numbersOf appends to dst, sorted, the values of the field names that are numbers'
// digits (1 to 15 digits, the first not 0), and says whether "~d" is among them.
func numbersOf(dst []uint64, names []string) ([]uint64, bool) {
	hasDepth := false
	for _, f := range names {
		if f == "~d" {
			hasDepth = true
		}
		if n, ok := parseDigits(f); ok {
			dst = append(dst, n)
		}
	}
	slices.Sort(dst)
	return dst, hasDepth
}

// bucketKeys returns the keys of the groups' buckets, all parts of one string.
func bucketKeys(prefix, org string, groups []bucketGroup) []string {
	base := Base(prefix, org) + "b:"
	buf := make([]byte, 0, len(groups)*(len(base)+8))
	ends := make([]int, len(groups))
	for j, g := range groups {
		buf = append(buf, base...)
		buf = strconv.AppendUint(buf, g.b, 10)
		ends[j] = len(buf)
	}
	all := string(buf)
	keys := make([]string, len(groups))
	start := 0
	for j, end := range ends {
		keys[j], start = all[start:end], end
	}
	return keys
}

// byBucket returns the indexes of bs in the order of their buckets (and of the index
// within one bucket): by counting when the table has not many more buckets than there
// are numbers, else by sorting.
func byBucket(bs []uint64, t tableSize) []int32 {
	order := make([]int32, len(bs))
	if nb := uint64(1)<<t.L + t.p; nb <= 4*uint64(len(bs))+1024 {
		start := make([]int32, nb+1)
		for _, b := range bs {
			start[b+1]++
		}
		for b := uint64(1); b <= nb; b++ {
			start[b] += start[b-1]
		}
		for i, b := range bs {
			order[start[b]] = int32(i)
			start[b]++
		}
		return order
	}
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		return cmp.Or(cmp.Compare(bs[x], bs[y]), cmp.Compare(x, y))
	})
	return order
}

// checkManyScripts is CheckManyEpoch by read-only scripts, ChunkSize numbers each, in
// one pipeline.
func (s *Store) checkManyScripts(ctx context.Context, org string, ds []string, defaultEnabled bool) (ManyResult, error) {
	batches := make([][]any, 0, (len(ds)+ChunkSize-1)/ChunkSize)
	for lo := 0; lo < len(ds); lo += ChunkSize {
		chunk := ds[lo:min(lo+ChunkSize, len(ds))]
		args := make([]any, 0, 1+len(chunk))
		args = append(args, flag(defaultEnabled))
		for _, d := range chunk {
			args = append(args, d)
		}
		batches = append(batches, args)
	}
	for try := 0; try < 2; try++ {
		now, err := s.serverTime(ctx, org) // read first: an entry that expires meanwhile stays listed
		if err != nil {
			return ManyResult{Enabled: true}, err
		}
		replies, err := s.pipeline(ctx, checkManyScript, true, org, batches)
		if err != nil {
			return ManyResult{Enabled: true}, err
		}
		enabled, listed, epoch, err := readCheckMany(replies, batches, len(ds), now)
		if !errors.Is(err, errSwitched) {
			return ManyResult{Enabled: enabled, Listed: listed, Epoch: epoch}, err
		}
	}
	return ManyResult{Enabled: true}, fmt.Errorf("%w: check many: the org's switch or data changed during the batch", ErrBadReply)
}

var errSwitched = errors.New("switched")

func readCheckMany(replies []any, batches [][]any, total int, now float64) (bool, []bool, string, error) {
	listed := make([]bool, 0, total)
	on, off := false, false
	epoch := ""
	for i, r := range replies {
		vals, ok := r.([]any)
		if !ok || len(vals) < 2 {
			return true, nil, "", fmt.Errorf("%w: check many: %v", ErrBadReply, r)
		}
		e, ok := vals[1].(string)
		if !ok {
			return true, nil, "", fmt.Errorf("%w: check many: epoch %T", ErrBadReply, vals[1])
		}
		if i > 0 && e != epoch {
			return true, nil, "", errSwitched
		}
		epoch = e
		if vals[0] == int64(0) {
			off = true
			continue
		}
		on = true
		if len(vals)-2 != len(batches[i])-1 {
			return true, nil, "", fmt.Errorf("%w: check many answered %d of %d", ErrBadReply, len(vals)-2, len(batches[i])-1)
		}
		for _, v := range vals[2:] {
			x, _ := v.(int64) // 1 listed, -expiry listed until then, 0 not listed
			listed = append(listed, x == 1 || (x < 0 && float64(-x) > now))
		}
	}
	switch {
	case on && off:
		return true, nil, "", errSwitched
	case off:
		return false, nil, epoch, nil
	}
	return true, listed, epoch, nil
}

// Enabled reports whether DNC is on for org, or def when org never set it.
func (s *Store) Enabled(ctx context.Context, org string, def bool) (bool, error) {
	r, err := s.checkSlow(ctx, org, "", def)
	return r.State != Disabled, err
}

package store

import (
	"context"
	"fmt"
	"slices"
)

// MaxRules is the most rules an org may have. A check asks for the number's prefixes
// whatever their count, so it costs the same with one rule or MaxRules.
const MaxRules = 10_000

// AddRule adds a rule to org: every number that begins with prefix ("+" and 1 to 15
// digits, the first not 0) is blocked. It reports whether the rules changed; the
// change and its audit event land together.
func (s *Store) AddRule(ctx context.Context, org, prefix string) (bool, error) {
	return s.rule(ctx, org, prefix, true)
}

// RemoveRule removes a rule from org and reports whether it was there.
func (s *Store) RemoveRule(ctx context.Context, org, prefix string) (bool, error) {
	return s.rule(ctx, org, prefix, false)
}

func (s *Store) rule(ctx context.Context, org, prefix string, add bool) (bool, error) {
	d, err := digits(prefix)
	if err != nil {
		return false, fmt.Errorf("%w: rule: %w", ErrInvalidArgument, err)
	}
	action := "rule_remove"
	if add {
		action = "rule_add"
	}
	args := s.audit(ctx, action, []any{flag(add), d, newEpoch(), MaxRules})
	replies, err := s.pipeline(ctx, ruleScript, false, org, [][]any{args})
	if err != nil {
		return false, err
	}
	n, ok := replies[0].(int64)
	if !ok {
		return false, fmt.Errorf("%w: rule: %v", ErrBadReply, replies[0])
	}
	return n == 1, nil
}

// Rules returns org's rules, "+" and digits each, sorted.
func (s *Store) Rules(ctx context.Context, org string) ([]string, error) {
	ds, err := s.rdb.SMembers(ctx, rulesKey(s.prefix, org)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		if _, ok := parseDigits(d); !ok {
			return nil, fmt.Errorf("%w: rule %q", ErrBadReply, d)
		}
		out = append(out, "+"+d)
	}
	slices.Sort(out)
	return out, nil
}

// ruleSet is an org's rules as a batch check matches them: by length, the values of
// the rules of that many digits.
type ruleSet struct {
	lens  []int // the lengths that some rule has, ascending
	byLen map[int]map[uint64]struct{}
}

func newRuleSet(ds []string) (ruleSet, error) {
	rs := ruleSet{byLen: map[int]map[uint64]struct{}{}}
	for _, d := range ds {
		v, ok := parseDigits(d)
		if !ok {
			return rs, fmt.Errorf("%w: rule %q", ErrBadReply, d)
		}
		m := rs.byLen[len(d)]
		if m == nil {
			m = map[uint64]struct{}{}
			rs.byLen[len(d)] = m
			rs.lens = append(rs.lens, len(d))
		}
		m[v] = struct{}{}
	}
	slices.Sort(rs.lens)
	return rs, nil
}

// match returns the longest rule that the number with digits d (value v) begins with,
// "+" and digits, or "".
func (rs ruleSet) match(d string, v uint64) string {
	for i := len(rs.lens) - 1; i >= 0; i-- {
		n := rs.lens[i]
		if n > len(d) {
			continue
		}
		p := v
		for range len(d) - n {
			p /= 10
		}
		if _, ok := rs.byLen[n][p]; ok {
			return "+" + d[:n]
		}
	}
	return ""
}

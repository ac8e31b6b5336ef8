package dnc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dncguard/dncguard/internal/clip"
	"github.com/dncguard/dncguard/phone"
	"github.com/dncguard/dncguard/store"
	"github.com/nyaruka/phonenumbers"
)

// MaxRules is the most rules one org may have (AddRule refuses more with
// ErrInvalidArgument). A check costs the same with one rule or MaxRules.
const MaxRules = store.MaxRules

// AddRule adds a rule to org's list: every number that begins with prefix is blocked
// as if listed (Decision.Reason ReasonRule, Decision.Rule the rule), by Check,
// ShouldSkip and CheckMany alike. prefix is E.164 digits, whole or leading: "+1201",
// "+44 20" (spaces, dashes, dots and parentheses are ignored), and it must begin with
// a country calling code. Without "+" it is read in the default region: after the
// region's international prefix it is read as with "+"; else the national prefix, if
// written, is dropped and the country code put in front, so that in region US "201"
// and "1 201" read as "+1201" (and "011 44 20" as "+4420"), and in GB "020" as
// "+4420". Adding a rule the org has is not an error. The rule and its audit event are
// written together.
//
// A check learns of a change of the org's rules from the version that every bucket's
// stamp carries: a change writes the new version into all of them, 250 buckets a
// script, before it returns (about one script per 4,000 listed numbers: 250 for a
// million, about 0.2 s), and each process reads the org's rules once per version. So a
// change costs in proportion to the list; AddRules adds many in one change.
func (e *Enforcer) AddRule(ctx context.Context, org, prefix string) error {
	return e.changeRules(ctx, org, []string{prefix}, true)
}

// AddRules adds several rules in one change, all or nothing on input: one invalid
// prefix and nothing is written. They are written 100 to a script (each with its audit
// events), in one round trip, and stamped in one walk; should the org reach MaxRules
// part-way, the rules written before stay, and the error says so.
func (e *Enforcer) AddRules(ctx context.Context, org string, prefixes []string) error {
	return e.changeRules(ctx, org, prefixes, true)
}

// RemoveRule removes a rule (written as for AddRule) from org's list. Removing a rule
// the org does not have is not an error.
func (e *Enforcer) RemoveRule(ctx context.Context, org, prefix string) error {
	return e.changeRules(ctx, org, []string{prefix}, false)
}

func (e *Enforcer) changeRules(ctx context.Context, org string, prefixes []string, add bool) error {
	if err := validOrg(org); err != nil {
		return err
	}
	if err := validActor(ctx); err != nil {
		return err
	}
	if len(prefixes) > MaxRules {
		return fmt.Errorf("%w: %d rules in one call; at most %d", ErrInvalidArgument, len(prefixes), MaxRules)
	}
	rules := make([]string, len(prefixes))
	for i, p := range prefixes {
		r, err := ParseRule(p, e.cfg.region)
		if err != nil {
			return err
		}
		rules[i] = r
	}
	if len(rules) == 0 {
		return nil
	}
	var err error
	if add {
		_, err = e.st.AddRule(ctx, org, rules...)
	} else {
		_, err = e.st.RemoveRule(ctx, org, rules...)
	}
	if errors.Is(err, store.ErrTooManyRules) {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if err != nil {
		return unavailable(ctx, "rule", err)
	}
	return nil
}

// Rules returns org's rules, "+" and digits each, sorted.
func (e *Enforcer) Rules(ctx context.Context, org string) ([]string, error) {
	if err := validOrg(org); err != nil {
		return nil, err
	}
	rules, err := e.st.Rules(ctx, org)
	if err != nil {
		return nil, unavailable(ctx, "rules", err)
	}
	return rules, nil
}

// ParseRule returns prefix as a rule, "+" and digits, reading a prefix without "+" in
// region (see AddRule), or an error wrapping ErrInvalidArgument that says why.
func ParseRule(prefix, region string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: rule %s: %s", ErrInvalidArgument, clip.Quote(prefix), why)
	}
	s := strings.TrimSpace(prefix)
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return bad("want digits, with an optional leading \"+\"")
		}
	}
	d := b.String()
	if d == "" {
		return bad("no digits")
	}
	if !plus {
		if idd := phone.InternationalPrefix(region); idd != "" && len(d) > len(idd) && strings.HasPrefix(d, idd) {
			d = d[len(idd):] // "011 44 20" in US, "00 44 20" in GB: an international prefix
		} else {
			cc := phone.CountryCode(region)
			if cc == "" {
				return bad("region " + region + " has no country code")
			}
			if np := phone.NationalPrefix(region); np != "" && len(d) > len(np) && strings.HasPrefix(d, np) {
				d = d[len(np):]
			} else if strings.HasPrefix(d, cc) {
				// "44 20" in GB: the country code, or a national number that begins alike
				return bad("it begins with " + region + "'s country code " + cc + ": write it with \"+\" (+" + d + ") or, for a national number, with the national prefix")
			}
			if cc == "1" && (d[0] == '0' || d[0] == '1') {
				return bad("in region " + region + ", an area code begins with 2 to 9")
			}
			d = cc + d
		}
	}
	if d[0] == '0' {
		return bad("a country code does not begin with 0")
	}
	if len(d) > 15 {
		return bad("longer than an E.164 number (15 digits)")
	}
	for n := 1; n <= 3; n++ {
		if n > len(d) {
			break
		}
		cc, _ := strconv.Atoi(d[:n])
		if phonenumbers.GetRegionCodeForCountryCode(cc) != phonenumbers.UNKNOWN_REGION {
			return "+" + d, nil
		}
	}
	return bad("does not begin with a country calling code")
}

package dnchttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/clip"
)

type rulesData struct {
	Rules []string `json:"rules"`
}

type ruleData struct {
	Rule string `json:"rule"`
}

// rules serves GET /api/dnc/rules: the org's rules, sorted.
func (h *Handler) rules(r *http.Request, org string, _ []byte) (reply, error) {
	rs, err := h.enf.Rules(r.Context(), org)
	if err != nil {
		return reply{}, err
	}
	if rs == nil {
		rs = []string{}
	}
	return reply{message: MsgRules, data: rulesData{Rules: rs}}, nil
}

// addRule serves POST /api/dnc/rules: {"prefix": "+1201"}, whose data is the rule as
// stored, or {"prefixes": ["+1201", ...]} (1 to dnc.MaxRules of them, all or nothing:
// one that is not a rule and none is added), whose data is the rules as stored, in one
// change of the org's rules (a change rewrites a stamp in every bucket of the org's list,
// so many rules are best added together). Adding a rule the org has is not an error.
func (h *Handler) addRule(r *http.Request, org string, body []byte) (reply, error) {
	var prefix string
	var prefixes []string
	// prefix may be absent when prefixes is given, but when present it is read as a
	// required field is: null is refused, as for every other endpoint's required string
	one, many := stringField("prefix", true, &prefix), stringsField("prefixes", false, &prefixes)
	given, decodeOne := false, one.decode
	one.required, one.decode = false, func(raw json.RawMessage) error { given = true; return decodeOne(raw) }
	if err := decodeObject(body, one, many); err != nil {
		return reply{}, err
	}
	switch {
	case given && prefixes != nil:
		return reply{}, badRequest("give prefix (one rule) or prefixes (an array of rules), not both")
	case !given && prefixes == nil:
		return reply{}, badRequest("prefix is required")
	case given:
		prefixes = []string{prefix}
	}
	if len(prefixes) < 1 || len(prefixes) > dnc.MaxRules {
		return reply{}, badRequest(fmt.Sprintf("prefixes must hold 1 to %d rules, got %d", dnc.MaxRules, len(prefixes)))
	}
	rules := make([]string, len(prefixes))
	for i, p := range prefixes {
		rule, err := h.parseRule(p)
		if err != nil {
			return reply{}, err
		}
		rules[i] = rule
	}
	err := h.enf.AddRules(r.Context(), org, rules)
	if errors.Is(err, dnc.ErrInvalidArgument) { // the org would have more than dnc.MaxRules rules
		return reply{}, badRequest(err.Error())
	}
	if err != nil {
		return reply{}, err
	}
	if given {
		return reply{message: MsgRuleAdded, data: ruleData{Rule: rules[0]}}, nil
	}
	return reply{message: MsgRuleAdded, data: rulesData{Rules: rules}}, nil
}

// removeRule serves DELETE /api/dnc/rules/{prefix}, the prefix URL-escaped ("%2B1201",
// or "1201"). The data is the rule as stored. Removing a rule the org does not have is
// not an error: the library does not say whether it had it.
func (h *Handler) removeRule(r *http.Request, org string, _ []byte) (reply, error) {
	rule, err := h.parseRule(r.PathValue("prefix"))
	if err != nil {
		return reply{}, err
	}
	if err := h.enf.RemoveRule(r.Context(), org, rule); err != nil {
		return reply{}, err
	}
	return reply{message: MsgRuleRemoved, data: ruleData{Rule: rule}}, nil
}

// parseRule returns prefix as a rule ("+" and digits), read as the numbers of requests
// are: with "+" and a country code, or else in the Enforcer's default region, so that
// under US "201" and "1201" are "+1201" (dnc.ParseRule). A prefix that is not a rule is
// 400, with the library's reason.
func (h *Handler) parseRule(prefix string) (string, error) {
	rule, err := dnc.ParseRule(prefix, h.enf.Region())
	if err != nil {
		return "", badRequest(fmt.Sprintf("prefix %s is not a valid rule: %v", clip.Quote(prefix), err))
	}
	return rule, nil
}

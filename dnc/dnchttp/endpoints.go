package dnchttp

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/internal/clip"
)

// Success messages, as the hosted product words them.
const (
	MsgSettingUpdated = "DNC setting updated successfully"
	MsgAdded          = "Phone number added to DNC successfully"
	MsgListed         = "DNC list fetched successfully"
	MsgDeleted        = "DNC record deleted successfully"
	MsgStatus         = "DNC setting fetched successfully"
	MsgChecked        = "DNC check completed successfully"
	MsgHistory        = "DNC history fetched successfully"
	MsgRules          = "DNC rules fetched successfully"
	MsgRuleAdded      = "DNC rule added successfully"
	MsgRuleRemoved    = "DNC rule removed successfully"
)

// MsgExists is the 400 of POST /api/dnc/add for a number the org has already listed.
const MsgExists = "phone number already exists in DNC for this organization"

// enableDisable serves POST /api/dnc/enable-disable.
func (h *Handler) enableDisable(r *http.Request, org string, body []byte) (reply, error) {
	var enable bool
	if err := decodeObject(body, boolField("enable", true, &enable)); err != nil {
		return reply{}, err
	}
	if err := h.enf.SetEnabled(r.Context(), org, enable); err != nil {
		return reply{}, err
	}
	return reply{message: MsgSettingUpdated}, nil
}

// status serves GET /api/dnc/status.
func (h *Handler) status(r *http.Request, org string, _ []byte) (reply, error) {
	on, err := h.enf.Enabled(r.Context(), org)
	if err != nil {
		return reply{}, err
	}
	return reply{message: MsgStatus, data: statusData{Enabled: on}}, nil
}

type statusData struct {
	Enabled bool `json:"enabled"`
}

// entryJSON is an entry as the API shows it.
type entryJSON struct {
	ID          string `json:"_id"`
	PhoneNumber string `json:"phoneNumber"`
	Type        string `json:"type"`
	OrgID       string `json:"orgId"`
	BatchID     string `json:"batchId"`
	RequestUUID string `json:"requestUUID"`
	CreatedAt   string `json:"createdAt"`           // ISO 8601 UTC, in ms, or "" when unknown
	ExpiresAt   string `json:"expiresAt,omitempty"` // ISO 8601 UTC, in ms; absent when the entry never expires
}

// ISOMillis is the layout of the times in answers (an entry's createdAt and expiresAt,
// an event's time): ISO 8601 (and RFC 3339) in UTC with milliseconds, as JavaScript's
// Date.toISOString writes it.
const ISOMillis = "2006-01-02T15:04:05.000Z"

func toJSON(org string, e dnc.Entry) entryJSON {
	return entryJSON{ID: e.ID, PhoneNumber: e.Number, Type: e.Type, OrgID: org,
		BatchID: e.BatchID, RequestUUID: e.RequestUUID, CreatedAt: formatTime(e.CreatedAt), ExpiresAt: formatTime(e.ExpiresAt)}
}

// add serves POST /api/dnc/add. The data is the new entry. An expiresAt sooner than
// the type's minimum retention is the library's 400 (dnc.WithMinRetention).
func (h *Handler) add(r *http.Request, org string, body []byte) (reply, error) {
	var number string
	var meta dnc.Meta
	err := decodeObject(body,
		stringField("phoneNumber", true, &number),
		stringField("type", false, &meta.Type),
		stringField("batchId", false, &meta.BatchID),
		stringField("requestUUID", false, &meta.RequestUUID),
		timeField("expiresAt", false, &meta.ExpiresAt),
	)
	if err != nil {
		return reply{}, err
	}
	if strings.TrimSpace(number) == "" {
		return reply{}, badRequest("phoneNumber must not be empty")
	}
	if err := checkMeta(meta); err != nil {
		return reply{}, err
	}
	intl := International(number)
	e, err := h.enf.AddEntry(r.Context(), org, intl, meta)
	switch {
	case errors.Is(err, dnc.ErrInvalidNumber):
		return reply{}, badRequest(fmt.Sprintf("phoneNumber %s is not a valid phone number (read with its country code as %s)", clip.Quote(number), clip.Quote(intl)))
	case errors.Is(err, dnc.ErrExists):
		return reply{}, badRequest(MsgExists)
	case errors.Is(err, dnc.ErrInvalidArgument):
		// Metadata the library refuses; its message names the field and the limit (an
		// expiresAt out of range or sooner than the type's retention included).
		return reply{}, badRequest(err.Error())
	case err != nil:
		return reply{}, err
	}
	return reply{message: MsgAdded, data: toJSON(org, e)}, nil
}

type listData struct {
	DNCList    []entryJSON `json:"dncList"`
	Pagination pagination  `json:"pagination"`
}

type pagination struct {
	Total      int64 `json:"total"`
	Page       int64 `json:"page"`
	Limit      int   `json:"limit"`
	TotalPages int64 `json:"totalPages"`
}

// list serves GET /api/dnc/list?page=&limit=&search=.
func (h *Handler) list(r *http.Request, org string, _ []byte) (reply, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil { // r.URL.Query() would drop the malformed pair and go on
		return reply{}, badRequest(fmt.Sprintf("malformed query string: %v", err))
	}
	page, err := positiveParam(q, "page", 1)
	if err != nil {
		return reply{}, err
	}
	limit64, err := positiveParam(q, "limit", 10)
	if err != nil {
		return reply{}, err
	}
	limit := int(min(limit64, MaxListLimit))
	search, err := oneParam(q, "search")
	if err != nil {
		return reply{}, err
	}
	search = strings.TrimSpace(search) // a "+" left unescaped in a URL query reads as a space
	if len(search) > MaxSearchLen {
		return reply{}, badRequest(fmt.Sprintf("search must be at most %d bytes, got %d", MaxSearchLen, len(search)))
	}
	// No list holds MaxInt32 entries: a page further than that is past the end.
	offset := math.MaxInt32
	if page-1 < math.MaxInt32/int64(limit) {
		offset = int(page-1) * limit
	}
	p, err := h.enf.List(r.Context(), org, dnc.ListOptions{Offset: offset, Limit: limit, Search: search})
	if errors.Is(err, dnc.ErrSearchTooBroad) {
		return reply{}, badRequest("this search is digits that begin numbers and also name a type or batch id of too many entries; search by a longer number, or by the text with a character other than digits")
	}
	if err != nil {
		return reply{}, err
	}
	d := listData{
		DNCList:    make([]entryJSON, len(p.Entries)),
		Pagination: pagination{Total: p.Total, Page: page, Limit: limit, TotalPages: (p.Total + int64(limit) - 1) / int64(limit)},
	}
	for i, e := range p.Entries {
		d.DNCList[i] = toJSON(org, e)
	}
	return reply{message: MsgListed, data: d}, nil
}

// oneParam returns the query parameter name, "" when absent; given twice is 400.
func oneParam(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", badRequest(fmt.Sprintf("%s is given more than once", name))
	}
}

// positiveParam returns the integer query parameter name, def when absent. It must be
// decimal digits only with a value of at least 1. A value too large for int64 is
// MaxInt64: for a page that is past the end all the same, and a limit is capped anyway.
func positiveParam(q url.Values, name string, def int64) (int64, error) {
	s, err := oneParam(q, name)
	if err != nil {
		return 0, err
	}
	if _, given := q[name]; !given {
		return def, nil
	}
	bad := badRequest(fmt.Sprintf("%s must be an integer of at least 1, got %s", name, clip.Quote(s)))
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		n, err = math.MaxInt64, nil
	}
	if err != nil || n < 1 {
		return 0, bad
	}
	return n, nil
}

type deleteData struct {
	ID          string `json:"_id"`
	PhoneNumber string `json:"phoneNumber"`
}

// delete serves DELETE /api/dnc/delete/{id}. The data is the id and number unlisted.
func (h *Handler) delete(r *http.Request, org string, _ []byte) (reply, error) {
	id := r.PathValue("id")
	n, err := h.enf.DeleteByID(r.Context(), org, id)
	switch {
	case errors.Is(err, dnc.ErrInvalidID):
		return reply{}, badRequest(fmt.Sprintf("id %s is malformed: want the 24-hex-digit _id that the list returns", clip.Quote(id)))
	case errors.Is(err, dnc.ErrNotFound):
		return reply{}, &requestError{code: http.StatusNotFound, msg: "DNC record not found"}
	case err != nil:
		return reply{}, err
	}
	return reply{message: MsgDeleted, data: deleteData{ID: id, PhoneNumber: n}}, nil
}

// checkResult is one result of POST /api/dnc/check, as the API shows it.
type checkResult struct {
	Input       string `json:"input"` // as sent, cut to its first 64 characters and "..." if longer
	PhoneNumber string `json:"phoneNumber"`
	Skip        bool   `json:"skip"`
	Reason      string `json:"reason"`
	Rule        string `json:"rule,omitempty"` // the org's rule that matched the number, if any
}

// checkData is the data of POST /api/dnc/check, {"results": [checkResult, ...]}, one
// result for each number in order. It keeps the numbers and the library's decisions
// as they are, and appendJSON writes each result from them, so that a batch of ten
// thousand builds no checkResult.
type checkData struct {
	numbers   []string       // as sent
	decisions []dnc.Decision // decisions[i] is numbers[i]'s; a missing one is a zero result
}

// result returns the i-th result.
func (d checkData) result(i int) checkResult {
	if i >= len(d.decisions) { // cannot happen: the library decides for every number
		return checkResult{}
	}
	dec := d.decisions[i]
	return checkResult{Input: clip.Cut(d.numbers[i]), PhoneNumber: dec.Number, Skip: dec.Skip, Reason: string(dec.Reason), Rule: dec.Rule}
}

// MarshalJSON writes d as its appendJSON does.
func (d checkData) MarshalJSON() ([]byte, error) { return d.appendJSON(nil), nil }

// check serves POST /api/dnc/check: the library's decision for each number, in order.
func (h *Handler) check(r *http.Request, org string, body []byte) (reply, error) {
	var numbers []string
	var region string
	err := decodeObject(body,
		stringsField("phoneNumbers", true, &numbers),
		stringField("region", false, &region),
	)
	if err != nil {
		return reply{}, err
	}
	if len(numbers) < 1 || len(numbers) > MaxCheckNumbers {
		return reply{}, badRequest(fmt.Sprintf("phoneNumbers must hold 1 to %d numbers, got %d", MaxCheckNumbers, len(numbers)))
	}
	var ds []dnc.Decision
	if region == "" {
		intl := make([]string, len(numbers))
		for i, n := range numbers {
			intl[i] = International(n)
		}
		ds, err = h.enf.CheckMany(r.Context(), org, intl)
	} else {
		ds, err = h.enf.CheckManyIn(r.Context(), org, region, numbers)
	}
	switch {
	case errors.Is(err, dnc.ErrInvalidArgument):
		return reply{}, badRequest(fmt.Sprintf("region %s is not a known ISO 3166-1 alpha-2 region code", clip.Quote(region)))
	case err != nil && !errors.Is(err, dnc.ErrInvalidNumber):
		return reply{}, err // invalid numbers are results, not failures
	}
	return reply{message: MsgChecked, data: checkData{numbers: numbers, decisions: ds}}, nil
}

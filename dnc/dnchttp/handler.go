package dnchttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/dncguard/dncguard/dnc"
)

// Limits of the API.
const (
	// MaxBodyBytes is the largest request body read: 1 MiB. A larger one is 413.
	MaxBodyBytes = 1 << 20
	// MaxCheckNumbers is the most numbers one POST /api/dnc/check may carry.
	MaxCheckNumbers = 10_000
	// MaxListLimit caps GET /api/dnc/list's limit; a larger one is lowered to it.
	MaxListLimit = 100
	// MaxSearchLen is the longest search string of GET /api/dnc/list, in bytes.
	MaxSearchLen = 256
	// DefaultHistoryLimit is the limit of GET /api/dnc/history when none is given.
	DefaultHistoryLimit = 100
	// MaxHistoryLimit caps GET /api/dnc/history's limit; a larger one is lowered to it.
	MaxHistoryLimit = dnc.MaxHistory
)

// MsgNoUsers is the message of the 404 that an org without users gets.
const MsgNoUsers = "No users found for this organization"

// Handler is the http.Handler of the DNC API. Create it with New; it is safe for
// concurrent use.
type Handler struct {
	enf   *dnc.Enforcer
	auth  Authenticator
	ident IdentityAuthenticator // auth, when it is one; else nil
	orgs  OrgDirectory
	log   *slog.Logger
	mux   *http.ServeMux

	timeout time.Duration // of each request; see WithTimeout
}

// An Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger of storage and internal failures (answered with 500).
// Default slog.Default(). Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) {
		if l != nil {
			h.log = l
		}
	}
}

// New returns the Handler of the DNC API over enf, with auth to map bearer tokens to
// orgs and orgs to say which orgs have users. All three are required. When auth is an
// IdentityAuthenticator, each request's changes are made as its token's actor.
func New(enf *dnc.Enforcer, auth Authenticator, orgs OrgDirectory, opts ...Option) (*Handler, error) {
	if enf == nil || auth == nil || orgs == nil {
		return nil, errors.New("dnchttp: New needs an Enforcer, an Authenticator and an OrgDirectory")
	}
	h := &Handler{enf: enf, auth: auth, orgs: orgs, log: slog.Default(), mux: http.NewServeMux(), timeout: DefaultTimeout}
	h.ident, _ = auth.(IdentityAuthenticator)
	for _, o := range opts {
		o(h)
	}
	h.mux.Handle("POST /api/dnc/enable-disable", h.endpoint("enable-disable", h.enableDisable))
	h.mux.Handle("POST /api/dnc/add", h.endpoint("add", h.add))
	h.mux.Handle("GET /api/dnc/list", h.endpoint("list", h.list))
	h.mux.Handle("DELETE /api/dnc/delete/{id}", h.endpoint("delete", h.delete))
	h.mux.Handle("GET /api/dnc/status", h.endpoint("status", h.status))
	h.mux.Handle("POST /api/dnc/check", h.endpoint("check", h.check))
	h.mux.Handle("GET /api/dnc/history", h.endpoint("history", h.history))
	h.mux.Handle("GET /api/dnc/rules", h.endpoint("rules", h.rules))
	h.mux.Handle("POST /api/dnc/rules", h.endpoint("rule-add", h.addRule))
	h.mux.Handle("DELETE /api/dnc/rules/{prefix}", h.endpoint("rule-remove", h.removeRule))
	return h, nil
}

// ServeHTTP serves one request of the API; see the package documentation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(&muxWriter{ResponseWriter: w, method: r.Method}, r)
}

// muxWriter turns the ServeMux's own answers (plain-text 404 and 405, and its
// redirects to cleaned paths) into the JSON envelope: 405 keeps its Allow header,
// everything else the mux answers by itself is 404. Endpoints write to the writer
// underneath.
type muxWriter struct {
	http.ResponseWriter
	method string
	wrote  bool
}

func (m *muxWriter) WriteHeader(code int) {
	if m.wrote {
		return
	}
	m.wrote = true
	if code == http.StatusMethodNotAllowed {
		allow := m.Header().Get("Allow")
		writeError(m.ResponseWriter, http.StatusMethodNotAllowed,
			fmt.Sprintf("method %s is not allowed on this path; allowed: %s", m.method, allow))
		return
	}
	m.Header().Del("Location")
	writeError(m.ResponseWriter, http.StatusNotFound, "not found: no such endpoint")
}

func (m *muxWriter) Write(b []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	return len(b), nil // the mux's own body is replaced by the envelope
}

// envelope is the body of every response.
type envelope struct {
	Message      string `json:"message"`
	Status       bool   `json:"status"`
	Code         int    `json:"code"`
	ErrorMessage string `json:"errorMessage"`
	Data         any    `json:"data,omitempty"`
}

func writeEnvelope(w http.ResponseWriter, env envelope) {
	bp := bufs.Get().(*[]byte)
	b, err := appendEnvelope((*bp)[:0], env)
	if err != nil { // cannot happen: every data type here marshals
		env = envelope{Message: "internal error", Code: http.StatusInternalServerError, ErrorMessage: "internal error"}
		b, _ = json.Marshal(env)
	}
	defer func() {
		if cap(b) <= maxPooled {
			*bp = b[:0]
			bufs.Put(bp)
		}
	}()
	hd := w.Header()
	hd.Del("Content-Length")
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(env.Code)
	b = append(b, '\n')
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeEnvelope(w, envelope{Message: msg, Code: code, ErrorMessage: msg})
}

// requestError is a failure the client caused, answered with its code and message.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error { return &requestError{code: http.StatusBadRequest, msg: msg} }

// reply is what an endpoint answers on success (code 200).
type reply struct {
	message string
	data    any
}

// endpoint wraps one endpoint: token, org directory, then the whole body, then fn with
// the body, under a context that carries the token's actor (dnc.WithActor) when it has
// one; it writes fn's reply or error as the envelope. Every endpoint reads the body, so
// that one over the limit is 413 whatever the endpoint, and before any of its contents
// is looked at.
func (h *Handler) endpoint(name string, fn func(r *http.Request, org string, body []byte) (reply, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m, ok := w.(*muxWriter); ok {
			w = m.ResponseWriter
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		org, actor, err := h.authorize(r)
		if err == nil && actor != "" {
			r = r.WithContext(dnc.WithActor(ctx, actor))
		}
		var body []byte
		if err == nil {
			body, err = readBody(w, r)
		}
		var rep reply
		if err == nil {
			rep, err = fn(r, org, body)
		}
		if err != nil {
			h.fail(w, r, name, org, err)
			return
		}
		writeEnvelope(w, envelope{Message: rep.message, Status: true, Code: http.StatusOK, Data: rep.data})
	})
}

// readBody reads the whole body of r, up to MaxBodyBytes. A larger body is the
// *http.MaxBytesError (413); any other failure to read it (the client stalled past the
// server's ReadTimeout, or went away) is 400, without its details, which name sockets.
//
// It reads as io.ReadAll does, into a buffer sized from the Content-Length when there
// is one (capped at the limit): a batch check's body of some 200 KB is then read
// into one allocation rather than grown through a dozen.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	size := int64(512)
	if r.ContentLength > 0 {
		size = min(r.ContentLength, MaxBodyBytes) + 1 // the 1: room to see the end
	}
	rd := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	b := make([]byte, 0, size)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
			return nil, err
		}
		if err != nil {
			return nil, badRequest("could not read the request body")
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append grow it
		}
	}
}

// authorize returns the org and actor of the request's bearer token, after checking
// that the org has users. An actor that is not valid (checkActor) is a failure of the
// Authenticator (500): every change would otherwise be refused for it.
func (h *Handler) authorize(r *http.Request) (org, actor string, err error) {
	token, ok := bearer(r)
	if !ok {
		return "", "", &requestError{code: http.StatusUnauthorized, msg: `missing or malformed Authorization header: want "Bearer <token>"`}
	}
	if h.ident != nil {
		var id Identity
		id, err = h.ident.Identity(r.Context(), token)
		org, actor = id.Org, id.Actor
	} else {
		org, err = h.auth.Org(r.Context(), token)
	}
	if errors.Is(err, ErrUnknownToken) {
		return "", "", &requestError{code: http.StatusUnauthorized, msg: "invalid token"}
	}
	if err != nil {
		return "", "", fmt.Errorf("authenticate: %w", err)
	}
	if err := checkActor(actor); err != nil {
		return org, "", fmt.Errorf("authenticate: the actor of the token: %w", err)
	}
	has, err := h.orgs.HasUsers(r.Context(), org)
	if err != nil {
		return org, actor, fmt.Errorf("org directory: %w", err)
	}
	if !has {
		return org, actor, &requestError{code: http.StatusNotFound, msg: MsgNoUsers}
	}
	return org, actor, nil
}

// bearer returns the token of the request's only Authorization header, of the form
// "Bearer <token>" (the scheme in any case).
func bearer(r *http.Request) (string, bool) {
	vs := r.Header.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vs[0]), " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsFunc(token, unicode.IsSpace) {
		return "", false
	}
	return token, true
}

// fail answers err: a *requestError with its code and message, a body over the limit
// with 413, a storage outage (dnc.Transient: a deadline or an unreachable Redis) with
// 503 and Retry-After, anything else with 500 "internal error"; it logs the cause of
// the last two.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, name, org string, err error) {
	var re *requestError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &re):
		if re.code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer`)
		}
		writeError(w, re.code, re.msg)
	case errors.As(err, &mb):
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body too large: the limit is %d bytes (1 MiB)", MaxBodyBytes))
	case dnc.Transient(err):
		h.log.Warn("dnc api storage unavailable", "endpoint", name, "org", org, "err", err)
		unavailable(w)
	default:
		level := slog.LevelError
		if errors.Is(err, context.Canceled) {
			level = slog.LevelWarn // the client went away
		}
		h.log.Log(r.Context(), level, "dnc api request failed", "endpoint", name, "org", org, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

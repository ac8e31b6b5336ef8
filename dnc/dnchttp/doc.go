// Package dnchttp serves the hosted DNC HTTP API over a [dnc.Enforcer], so that a client
// written against the hosted product works unchanged against it.
//
// A [Handler] serves:
//
//	POST   /api/dnc/enable-disable  {"enable": true|false}         switch DNC on or off
//	POST   /api/dnc/add             {"phoneNumber", "type", "batchId", "requestUUID", "expiresAt"}
//	GET    /api/dnc/list?page=1&limit=10&search=...                 one page of the list
//	DELETE /api/dnc/delete/{id}                                     unlist by the list's _id
//	GET    /api/dnc/status                                          is DNC on (beyond the hosted API)
//	POST   /api/dnc/check           {"phoneNumbers": [...], "region": "US"}  decisions (beyond)
//	GET    /api/dnc/history?since=&until=&before=&limit=&actions=   the audit log, newest first (beyond)
//	GET    /api/dnc/rules                                           the org's rules (beyond)
//	POST   /api/dnc/rules           {"prefix": "+1201"}             block every number with that prefix (beyond);
//	                                {"prefixes": [...]}             many rules in one change
//	DELETE /api/dnc/rules/{prefix}                                  remove a rule, prefix URL-escaped (beyond)
//
// expiresAt (optional) is when an entry stops blocking; entries show it only when they
// have one. A check result blocked by a rule has reason "rule" and a "rule" key, the
// rule; a listed number that a rule also matches has reason "listed" and the rule. A
// rule's prefix is read as dnc.ParseRule reads it in the Enforcer's default region:
// under US, "%2B1201", "1201" and "201" are all +1201, and "011 44 20" is +4420.
//
// Timestamps in requests (expiresAt, since, until) are RFC 3339 with a time zone:
// "2031-01-02T15:04:05Z", "2031-01-02T10:04:05.5-05:00"; anything else is 400, saying
// what is wrong with it. In a query string, a "+" of an offset should be sent as "%2B";
// one sent as it is reads as a space there, and is read back as the "+" it was. Times in
// answers are UTC with milliseconds, as createdAt: "2031-01-02T15:04:05.000Z". history's
// since is inclusive, until exclusive; its limit is 1 or more (default 100, capped at
// 1000, and data.limit says what applied); actions is a comma-separated list of actions
// ("enable,disable").
//
// When the Authenticator is an [IdentityAuthenticator] (as [StaticTokens] is), every
// change a request makes is recorded in the org's audit log with its token's actor
// ([dnc.WithActor]).
//
// Every response, errors included, is the JSON envelope
// {"message", "status", "code", "errorMessage"}, plus "data" where an endpoint returns
// data; code equals the HTTP status. On failure status is false and message and
// errorMessage both say what was wrong; storage failures say only "internal error", or
// [MsgUnavailable] for an outage (the cause is logged, never sent).
//
// A request is checked in this order, and the first failure answers:
//
//  1. unknown path: 404; known path, wrong method: 405 with an Allow header (whatever
//     the token);
//  2. the bearer token, through an [Authenticator]: missing, malformed or unknown is 401
//     (an Authenticator that fails, or names an actor that is not valid, is 500);
//  3. the token's org, through an [OrgDirectory]: an org without users is 404
//     "No users found for this organization";
//  4. the request: a body over [MaxBodyBytes] is 413 (and the connection is closed),
//     whatever else is wrong with it; a body that cannot be read is 400 "could not read
//     the request body"; anything else wrong with the request is 400, naming the field
//     and why;
//  5. storage: a Redis that does not answer within the request's deadline
//     ([WithTimeout], default 2 s) or cannot be reached (refused or reset connections,
//     a cluster failing over: see [dnc.Transient]) is 503 with a "Retry-After: 1"
//     header; any other storage failure is 500.
//
// A failed request changes nothing, with two exceptions that it never leaves half done.
// A write answered 503 may have reached Redis before its deadline and then be applied,
// in whole, when Redis catches up. Sending it again is safe: enable-disable sets the
// same value, add answers 400 "already exists", and adding or removing a rule again
// is not an error. And an add of a number already listed answers 400 "already exists"
// but, as the library does (dnc.Enforcer.AddEntry), never lets the entry's life be
// shorter than asked: a later expiresAt than the entry's, or none when it has one,
// replaces its expiry (an "add" event in the history says so). The org always comes
// from the token, never from the body or the URL, so a token can only ever read or
// change its own org's data.
//
// JSON bodies are read strictly: exactly one JSON object, no duplicated keys, no trailing
// data, and each known key with the JSON type it must have ("enable": "true", 1 or null
// are 400). Keys are matched exactly: "ENABLE" is an unknown key, and unknown keys are
// ignored, whatever their values.
//
// The metadata of POST /api/dnc/add (type, batchId, requestUUID) must not hold control
// characters (C0, DEL, C1) or bidirectional formatting characters (U+061C, U+200E,
// U+200F, U+202A to U+202E, U+2066 to U+2069): 400, naming the field, the character and
// its byte offset. No answer repeats more than the first 64 characters of an input: error
// messages quote that much and the input's length, and the "input" of a check result is
// cut to 64 characters followed by "...".
//
// Phone numbers in requests include their country code, the "+" optional, as in the
// hosted product: "12125551234" is +1 212-555-1234 and "2125551234" is read as
// +212 5551234 (invalid). Formatting characters, "tel:" URIs and extensions are allowed;
// see [International]. POST /api/dnc/check with a "region" reads its numbers in that
// region's national format instead. Stored and returned numbers are E.164.
package dnchttp

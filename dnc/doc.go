// Package dnc is the Do-Not-Call check that an outbound dialer calls before every call:
// may this organization dial this number now?
//
// An [Enforcer] keeps, in Redis, a per-organization switch (DNC enforcement on or off)
// and each organization's list of numbers that must not be called. Before every call the
// dialer asks [Enforcer.ShouldSkip] (or [Enforcer.Check] for the reason too):
//
//	skip, err := enf.ShouldSkip(ctx, "acme", "(212) 555-1234")
//	if skip {
//		// do not dial; err, when set, says why the answer is not a plain "listed"
//	}
//
// The model:
//
//   - Every number is normalized to E.164 (package phone) before every lookup and every
//     write, so "(212) 555-1234" added under region US blocks "+12125551234",
//     "212.555.1234", "1 212 555 1234", "+1 212-555-1234 ext. 9" and
//     "tel:+1-212-555-1234" alike.
//   - An organization that never set the switch is enforced (see [WithDefaultEnabled]).
//     When it is switched off, every number may be called.
//   - A check is one Redis round trip: one HMGET of the number's bucket reads the org's
//     switch, the number's entry and the version of the org's rules together.
//   - An entry may expire ([Meta].ExpiresAt): the Redis server's clock, read in the same
//     round trip, decides, never the dialer host's; [Enforcer.Purge] removes expired
//     entries. A minimum retention per type ([WithMinRetention]; 5 years for
//     "customer_request") refuses expiries that come too soon.
//   - Rules ([Enforcer.AddRule]) block every number that begins with an E.164 prefix
//     ("+1201"), with [ReasonRule].
//   - Every change is appended to the org's audit log in the same script as the change,
//     with the actor of the context ([WithActor]); [Enforcer.History] reads it.
//   - It fails closed: an invalid number, an invalid org id, a Redis error or an ended
//     context all answer "skip" together with an error. Only [WithFailOpen] changes that,
//     and only for storage failures.
//
// All of an organization's keys share the Redis Cluster hash tag {org}, so an Enforcer
// works on a single node, with Sentinel and on Redis Cluster alike. Give the go-redis
// client ContextTimeoutEnabled: true, or a context deadline will not cut short a command
// already sent to a server that has stopped answering. [Transient] tells an outage that
// may pass (a deadline, an unreachable Redis, a cluster failing over) from other storage
// errors. On Redis Cluster, [New] has the client reload its slot map after a connection
// failure, so that checks follow a failover within a fraction of a second instead of
// go-redis' own 60 s reload.
//
// An Enforcer is safe for concurrent use.
package dnc

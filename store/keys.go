package store

// The key schema, all of it. Every key of one org carries the Redis Cluster hash tag
// {org}, so all of an org's keys live in one slot and one script can touch them all:
//
//	<prefix>:{<org>}:entries   hash  the org's DNC record:
//	                                 "+<E.164>" -> entry JSON (id, type, batchId, requestUUID, createdAt)
//	                                 "enabled"  -> "1" or "0"; absent = the Enforcer's default
//	<prefix>:{<org>}:ids       hash  entry id -> E.164
//	<prefix>:{<org>}:added     zset  E.164 scored by createdAt in ms (listing order)
//
// A number is listed exactly when :entries has a field for it. The switch lives in the
// same hash, under a field that no E.164 number can be (they all start with "+"), so a
// check reads both with one plain HMGET. The scripts keep :ids and :added in step
// with :entries.

// DefaultPrefix is the key prefix when none is given.
const DefaultPrefix = "dnc"

// toggleField is the field of the entries hash that holds the org's DNC switch.
const toggleField = "enabled"

// keys holds the names of one org's keys.
type keys struct {
	entries, ids, added string
}

func orgKeys(prefix, org string) keys {
	base := prefix + ":{" + org + "}:"
	return keys{entries: base + "entries", ids: base + "ids", added: base + "added"}
}

// entriesKey returns the org's entries key alone, in one allocation: a check runs before
// every call and needs no other key.
func entriesKey(prefix, org string) string {
	return prefix + ":{" + org + "}:entries"
}

// all returns the keys that the write scripts take, in their KEYS order.
func (k keys) all() []string { return []string{k.entries, k.ids, k.added} }

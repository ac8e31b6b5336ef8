package store

// The key schema, all of it. Every key of one org carries the Redis Cluster hash tag
// {org}, so all of an org's keys live in one slot and one script can touch them all:
//
//	<prefix>:{<org>}:enabled   string  "1" or "0"; absent = the Enforcer's default
//	<prefix>:{<org>}:numbers   set     the org's listed numbers, E.164 (the check index)
//	<prefix>:{<org>}:entries   hash    E.164 -> entry JSON (id, type, batchId, requestUUID, createdAt)
//	<prefix>:{<org>}:ids       hash    entry id -> E.164
//	<prefix>:{<org>}:added     zset    E.164 scored by createdAt in ms (listing order)
//
// A number is listed exactly when it is in :numbers; the scripts keep :entries, :ids
// and :added in step with it.

// DefaultPrefix is the key prefix when none is given.
const DefaultPrefix = "dnc"

// keys holds the names of one org's keys.
type keys struct {
	enabled, numbers, entries, ids, added string
}

func orgKeys(prefix, org string) keys {
	base := prefix + ":{" + org + "}:"
	return keys{
		enabled: base + "enabled",
		numbers: base + "numbers",
		entries: base + "entries",
		ids:     base + "ids",
		added:   base + "added",
	}
}

// all returns the keys that the add and remove scripts take, in their KEYS order.
func (k keys) all() []string { return []string{k.numbers, k.entries, k.ids, k.added} }

// checkKeys returns the three keys the check script takes (enabled, numbers, entries),
// built in one allocation: a check runs before every call.
func checkKeys(prefix, org string) []string {
	const enabled, numbers, entries = "enabled", "numbers", "entries"
	n := len(prefix) + len(org) + 4 // "<prefix>:{<org>}:"
	b := make([]byte, 0, 3*n+len(enabled)+len(numbers)+len(entries))
	for _, suffix := range [...]string{enabled, numbers, entries} {
		b = append(b, prefix...)
		b = append(b, ":{"...)
		b = append(b, org...)
		b = append(b, "}:"...)
		b = append(b, suffix...)
	}
	all := string(b)
	i, j := n+len(enabled), 2*n+len(enabled)+len(numbers)
	return []string{all[:i], all[i:j], all[j:]}
}

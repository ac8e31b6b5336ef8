package store

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// The key schema, all of it. Every key of one org starts with the org's base,
// "<prefix>:{<org>}:", whose Redis Cluster hash tag {org} puts all of them in one slot,
// so one script can read or change any of them:
//
//	<base>meta     hash   the org's state: "v" schema version (SchemaVersion), "enabled"
//	                      "1"/"0" (absent: the Enforcer's default), "L" and "p" the bucket
//	                      table's level and split pointer, "n" how many numbers are listed,
//	                      "seq" the last sequence number given, "dict" the last dictionary index,
//	                      "rv" the version of the org's rules, "rs" the version every bucket's
//	                      stamp is known to name, "fx" "1" once an entry with an expiry was written
//	<base>b:<i>    hash   bucket i of the listed numbers: "<E.164 digits>" -> record
//	<base>l:<j>    hash   block j of the listing log: "<seq mod 128>" -> "<E.164 digits>"
//	<base>g:<k>    hash   group k of 128 log blocks: "<block mod 128>" -> its live entries
//	<base>f        hash   the listing's Fenwick tree over the groups: node -> live entries under it
//	<base>d        hash   the dictionary of metadata strings: "s<text>" -> index, "i<index>" -> text,
//	                      "l<text in lower case>" -> the indexes of the texts equal to it but for case
//
// and the search indexes (version 3):
//
//	<base>x:<i>:<k>  set  postings: seq - 512k for each live entry with seq in [512k, 512k+512)
//	                      whose type, batchId or long requestUUID is dictionary text i but for
//	                      case, i being the first of its cases stored (an intset)
//	<base>xc:<i>   hash   their counts: "t" all, "s<j>" those of blocks 128j to 128j+127, "<k>" block k's
//	<base>r:<b>    set    bucket b of the requestUUID fingerprints (fingerprint * 10^11 + seq), in a
//	                      linear hash table a quarter the size of the buckets' (an intset)
//	<base>o:<n>    zset   the chunks of the n-digit numbers: each chunk's base, as member and score
//	<base>o:<n>:<c> set   the n-digit numbers from base c up to the next chunk's base, as number - c
//	                      (an intset of at most 384 when a write last looked; chunk 0 always listed)
//
// and the org's rules and audit log:
//
//	<base>rules    set    the org's rules: the E.164 digits of each prefix that blocks the
//	                      numbers beginning with it (rules.go); their version is the meta
//	                      hash's "rv", which every bucket's stamp names ("1r<rv>:<epoch>")
//	<base>audit    stream one event per change (audit.go): a action, u actor, d detail, its
//	                      id the server's time; written by the same script as the change
//
// A record of an entry that expires carries its expiry (record.go); whether it has
// expired is judged by the server's clock, which every check reads in its round trip.
//
// Buckets form a linear hash table: a number's bucket is its hash modulo 2^L (or 2^(L+1)
// below the split pointer p), and the table grows one bucket at a time as the list
// grows, so every bucket stays a small listpack (16 to 32 numbers on average, and a
// check scans it in well under a microsecond). The log gives
// each entry a sequence number in the order it was listed; a block holds 128 sequence
// numbers, so it too stays a listpack. Each group of 128 blocks counts its blocks' live
// entries, and a Fenwick tree counts the groups', which finds the page at any offset in
// a step per binary digit of the number of groups plus one read of a group (a list
// nothing was ever removed from, "n" equal to "seq", holds every sequence number, and
// its pages are found by arithmetic). A record is a packed binary string (record.go) of
// at most 64 bytes.
//
// The search indexes answer a search without reading the listing: the postings give
// the entries of a type or batchId newest first (the counts find the page at any offset
// in two HMGETs), the fingerprints an entry of a requestUUID in one bucket, and the
// chunks the numbers that begin with some digits in number order, a chunk per 192 to
// 384 numbers. Every write keeps them in step with the buckets, in the same script.
//
// The scripts receive the three fixed keys in KEYS (always meta, f, d, in that order) and
// derive the bucket and block keys from the base inside Lua: which bucket or block a
// number lives in is known only from the meta state read in the same script. All of
// them share the org's hash tag, so Redis Cluster runs the scripts on the org's node
// (TestClusterKeysShareOneSlot proves it on a real cluster).

// DefaultPrefix is the key prefix when none is given.
const DefaultPrefix = "dnc"

// SchemaVersion is the layout version this package writes into each org's meta hash.
// Version 1 (no meta hash; one "<base>entries" hash per org) and version 2 (this layout
// without the search indexes) are refused with ErrSchema, as is any other version: an
// org's data of version 2 moves by export and import (examples/dncctl).
const SchemaVersion = 3

// MaxOrgLen is the longest org id, in bytes.
const MaxOrgLen = 128

// errOrg is the cause of every org id rejected by CheckOrg.
var errOrg = errors.New("store: invalid org id")

// CheckOrg returns nil if org can name an org's keys: 1 to MaxOrgLen bytes of printable
// UTF-8 with no white space, "{" or "}" (braces would move the keys out of the org's
// Redis Cluster hash tag). Otherwise the error says why. This is the one place the rule lives.
func CheckOrg(org string) error {
	if len(org) == 0 || len(org) > MaxOrgLen {
		return fmt.Errorf("%w: length %d, want 1 to %d bytes", errOrg, len(org), MaxOrgLen)
	}
	for i := 0; i < len(org); {
		c := org[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f || c == '{' || c == '}' {
				return fmt.Errorf("%w: %q: byte %d is %q", errOrg, org, i, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(org[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %q: not printable at byte %d", errOrg, org, i)
		}
		i += size
	}
	return nil
}

// CheckPrefix returns nil if prefix may start every key: non-empty, without "{" or "}".
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("store: empty key prefix")
	}
	for i := 0; i < len(prefix); i++ {
		if prefix[i] == '{' || prefix[i] == '}' {
			return fmt.Errorf("store: key prefix %q holds a brace", prefix)
		}
	}
	return nil
}

// keys holds the fixed keys of one org, in the order every script takes them.
type keys [3]string

func orgKeys(prefix, org string) keys {
	base := prefix + ":{" + org + "}:"
	return keys{base + "meta", base + "f", base + "d"}
}

// Base returns the prefix that every key of org starts with.
func Base(prefix, org string) string { return prefix + ":{" + org + "}:" }

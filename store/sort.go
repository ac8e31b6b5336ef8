package store

import (
	"cmp"
	"slices"
)

// sortNewestFirst orders entries as the added zset's ZREVRANGE does: by creation time,
// newest first, and by number, descending, among equals.
func sortNewestFirst(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.Number, a.Number)
	})
}

package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// An entry's id carries its number and its sequence number, so finding an entry by id
// needs no index of ids. The 96 bits
//
//	number (50 bits: every E.164 number is below 10^15 < 2^50) | seq (36 bits) | 10 zero bits
//
// go through a 4-round Feistel permutation keyed by the org, and are written as 24
// lower-case hex digits. Ids thus look random and differ between orgs for the same
// number; an id of another org (or a made-up one) decodes, in this org, to an unlikely
// number and sequence number whose check bits are zero one time in 1,024, and it then
// names an entry only if this org lists that number under that very sequence number.
// A stale id (its entry removed, the number listed again later) names a sequence number
// that no longer matches, so it finds nothing.
const (
	numberBits = 50
	seqBits    = 36
	checkBits  = 96 - numberBits - seqBits
	half       = 48
	halfMask   = 1<<half - 1
	// MaxSeq is the most entries an org can ever be given (sequence numbers are not reused).
	MaxSeq = 1<<seqBits - 1
)

type idKey [4]uint64

func keyOf(org string) idKey {
	sum := sha256.Sum256([]byte("dncguard entry id\x00" + org))
	var k idKey
	for i := range k {
		k[i] = binary.LittleEndian.Uint64(sum[8*i:])
	}
	return k
}

// round is the Feistel round function: a 64-bit mix (splitmix64's finalizer) of the
// half and the round key, cut to 48 bits.
func round(x, k uint64) uint64 {
	z := x ^ k
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return (z ^ z>>31) & halfMask
}

// encode returns the id of the entry with number and seq, under the org's key k.
func (k idKey) encode(number, seq uint64) string {
	l, r := splitPlain(number, seq)
	return k.encodeHalves(l, r)
}

// splitPlain lays number, seq and the zero check bits into two 48-bit halves.
func splitPlain(number, seq uint64) (uint64, uint64) {
	// 96 bits: [number:50][seq:36][check:10]; left = top 48 bits, right = low 48 bits.
	left := number >> 2                               // number's top 48 bits
	right := (number&3)<<46 | (seq&MaxSeq)<<checkBits // number's low 2 bits, then seq, then zeros
	return left, right
}

func (k idKey) encodeHalves(l, r uint64) string {
	for i := 0; i < 4; i++ {
		l, r = r, l^round(r, k[i])
	}
	var b [12]byte
	putHalf(b[0:6], l)
	putHalf(b[6:12], r)
	return hex.EncodeToString(b[:])
}

// decodeID returns the number and sequence number an id of org names; ok is false for
// an id that no entry of org could have.
func decodeID(org, id string) (number, seq uint64, ok bool) {
	var b [12]byte
	if len(id) != 24 || !ValidID(id) {
		return 0, 0, false
	}
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, 0, false
	}
	l, r := getHalf(b[0:6]), getHalf(b[6:12])
	k := keyOf(org)
	for i := 3; i >= 0; i-- {
		l, r = r^round(l, k[i]), l
	}
	if r&(1<<checkBits-1) != 0 {
		return 0, 0, false
	}
	number = l<<2 | r>>46
	seq = r >> checkBits & MaxSeq
	if number == 0 || number >= 1e15 || seq == 0 {
		return 0, 0, false
	}
	return number, seq, true
}

func putHalf(b []byte, v uint64) {
	for i := 5; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func getHalf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// ValidID reports whether id has the form of an entry id: 24 lower-case hex digits.
func ValidID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

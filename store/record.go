package store

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A record is how an entry is stored in its bucket, under the field of its number's
// digits: a packed binary string, at most 64 bytes so that the bucket stays a listpack.
//
//	[0:5]   sequence number, big-endian (its place in the listing, and half of its id)
//	[5:11]  createdAt, Unix milliseconds, big-endian; the top bit of [5] set when the
//	        entry expires (flagExpires)
//	[11:14] type, a dictionary index (0: none)
//	[14:17] batchId, a dictionary index (0: none)
//	[17:21] only when the entry expires: its expiry, Unix seconds, big-endian
//	then    requestUUID: empty (none); 0x01 + 16 bytes (a canonical lower-case UUID);
//	        0x02 + 16 bytes (the same, upper-case); 0x00 + the text (other text of at
//	        most maxInlineUUID bytes); 0x03 + a 3-byte dictionary index (longer text)
//
// Type and batchId repeat across entries, so the org's dictionary holds each text once.
// An entry without an expiry spends nothing on it: the flag takes a bit that createdAt
// leaves unused until the year 6429.
const (
	recHead       = 17
	flagExpires   = 0x80
	expiryLen     = 4
	maxInlineUUID = 40
	uuidNone      = ""
)

// packUUID returns the requestUUID part of a record as the add script takes it: the
// stored form, except that long text arrives as 0x03 + the text and the script
// replaces it with 0x03 + its dictionary index.
func packUUID(s string) string {
	if s == "" {
		return uuidNone
	}
	if b, kind, ok := uuidBytes(s); ok {
		return string(kind) + string(b[:])
	}
	if len(s) <= maxInlineUUID {
		return "\x00" + s
	}
	return "\x03" + s
}

// uuidBytes parses a canonical UUID (8-4-4-4-12 hex digits, all lower or all upper case).
func uuidBytes(s string) (b [16]byte, kind byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, 0, false
	}
	hexs := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	switch {
	case hexs == strings.ToLower(hexs):
		kind = 0x01
	case hexs == strings.ToUpper(hexs):
		kind = 0x02
	default:
		return b, 0, false
	}
	if _, err := hex.Decode(b[:], []byte(hexs)); err != nil {
		return b, 0, false
	}
	return b, kind, true
}

func formatUUID(b []byte, upper bool) string {
	h := hex.EncodeToString(b)
	s := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	if upper {
		return strings.ToUpper(s)
	}
	return s
}

// put48 writes v as 6 big-endian bytes.
func put48(v int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return string(b[2:])
}

func be(b string) uint64 {
	var v uint64
	for i := 0; i < len(b); i++ {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// errRecord is the cause of every record that cannot be read.
var errRecord = errors.New("bad record")

// decodeRecord turns a stored record of number (E.164 digits without "+") into an
// Entry; dict maps the dictionary indexes the record names to their text, and k is the
// org's id key (keyOf).
func decodeRecord(k idKey, digits, rec string, dict map[uint64]string) (Entry, error) {
	e := Entry{Number: "+" + digits}
	if len(rec) < recHead {
		return e, fmt.Errorf("%w: %w: entry of %s: %d bytes", ErrBadReply, errRecord, e.Number, len(rec))
	}
	num, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return e, fmt.Errorf("%w: %w: number field %q", ErrBadReply, errRecord, digits)
	}
	seq := be(rec[0:5])
	e.ID, e.Seq = k.encode(num, seq), seq
	if rec[5]&flagExpires != 0 {
		x, ok := recordExpiry(rec)
		if !ok {
			return e, fmt.Errorf("%w: %w: entry of %s: %d bytes, flagged as expiring", ErrBadReply, errRecord, e.Number, len(rec))
		}
		e.ExpiresAt = time.Unix(x, 0).UTC()
	}
	u := uuidPart(rec)
	e.CreatedAt = time.UnixMilli(int64(be(rec[5:11]) &^ (flagExpires << 40))).UTC()
	var ok bool
	if e.Type, ok = lookup(dict, be(rec[11:14])); !ok {
		return e, fmt.Errorf("%w: %w: entry of %s: type index unknown", ErrBadReply, errRecord, e.Number)
	}
	if e.BatchID, ok = lookup(dict, be(rec[14:17])); !ok {
		return e, fmt.Errorf("%w: %w: entry of %s: batch index unknown", ErrBadReply, errRecord, e.Number)
	}
	switch {
	case u == "":
	case (u[0] == 0x01 || u[0] == 0x02) && len(u) == 17:
		e.RequestUUID = formatUUID([]byte(u[1:]), u[0] == 0x02)
	case u[0] == 0x00:
		e.RequestUUID = u[1:]
	case u[0] == 0x03 && len(u) == 4:
		if e.RequestUUID, ok = lookup(dict, be(u[1:])); !ok {
			return e, fmt.Errorf("%w: %w: entry of %s: requestUUID index unknown", ErrBadReply, errRecord, e.Number)
		}
	default:
		return e, fmt.Errorf("%w: %w: entry of %s: requestUUID kind %#x", ErrBadReply, errRecord, e.Number, u[0])
	}
	return e, nil
}

// uuidPart returns the requestUUID part of a record of at least recHead bytes: what
// follows the head and, when the entry expires, its expiry.
func uuidPart(rec string) string {
	if rec[5]&flagExpires != 0 && len(rec) >= recHead+expiryLen {
		return rec[recHead+expiryLen:]
	}
	return rec[recHead:]
}

// recordExpiry returns the expiry of a record, in Unix seconds, and whether it has one.
func recordExpiry(rec string) (int64, bool) {
	if len(rec) < recHead+expiryLen || rec[5]&flagExpires == 0 {
		return 0, false
	}
	return int64(be(rec[recHead : recHead+expiryLen])), true
}

// packExpiry returns the expiry part of a record as the add script takes it: "" for
// none, else 4 bytes of Unix seconds, rounded up (an entry never expires before the
// time asked). Times before 1970 or after 2106 are refused.
func packExpiry(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	sec := expirySeconds(t)
	if sec <= 0 || sec > 1<<32-1 {
		return "", fmt.Errorf("%w: expiry %v out of range", ErrInvalidArgument, t)
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(sec))
	return string(b[:]), nil
}

// expirySeconds is t as an entry keeps it: Unix seconds, rounded up.
func expirySeconds(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

func lookup(dict map[uint64]string, i uint64) (string, bool) {
	if i == 0 {
		return "", true
	}
	s, ok := dict[i]
	return s, ok
}

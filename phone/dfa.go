package phone

import (
	"errors"
	"regexp/syntax"
	"slices"
)

// This file compiles phonenumbers' metadata patterns into deterministic automata over
// the ten ASCII digits, so that the fast path decides a pattern by one walk over the
// digits: no backtracking, no allocation, at most one table look-up per digit.
//
// The fast path only ever matches strings of ASCII digits, so an automaton only needs
// the transitions on '0' to '9'; what a pattern says about other characters cannot
// change its answer on such strings. A pattern is refused (the caller keeps using
// package regexp for it) when it cannot be represented exactly: a parse error, an
// empty-width assertion other than text begin ("^") and text end ("$"), or an
// automaton of more than maxDFAStates states.

// maxDFAStates bounds one automaton: 10 transitions of 2 bytes and 4 bytes of masks a
// state, so at most about 100 KB. The largest one phonenumbers' metadata needs (BD's
// validity automaton, all its number types at once) has about 500 states; see
// TestEveryRegionCompiles.
const maxDFAStates = 1 << 12

// errDFARefused is returned when a pattern cannot be compiled exactly.
var errDFARefused = errors.New("phone: pattern not representable as a digit automaton")

// dfa is a deterministic automaton that runs up to 15 patterns at once over a string
// of ASCII digits, anchored at its start. State 0 is dead (no pattern can match any
// more), state 1 the start.
//
// For each state, mid has bit k set when pattern k matches the digits read so far
// with more digits following (a prefix match), and end when it matches them with the
// input ending there (the two differ only for patterns using "$").
type dfa struct {
	next []uint16 // next[s*10+d]: the state after reading digit d in state s
	mid  []uint16
	end  []uint16
}

// nfaThread is one consuming instruction of one pattern: pattern<<24 | tag<<23 | pc,
// where tag says the thread went through the tracked capture group (see tagged).
type nfaThread uint32

const tagBit = 1 << 23

// dfaBuilder is the state of one subset construction.
type dfaBuilder struct {
	progs []*syntax.Prog
	// tagCap is the InstCapture argument that opens the tracked group of pattern 0,
	// or -1.
	tagCap uint32
	// seen[k][2*pc+tag] and seenEnd[k][2*pc+tag] are gen when closure already visited
	// pc of pattern k in the current step (seenEnd: after a "$"), which also ends empty
	// loops.
	seen, seenEnd [][]uint32
	gen           uint32
	index         map[string]uint16 // a state's threads and masks, as a key, to its number
	sets          [][]nfaThread     // the threads of each state
	d             dfa
	err           error
}

// compileDFA builds one automaton running patterns (at most 15) side by side: bit k
// of a state's masks stands for patterns[k]. Every pattern is anchored at the start
// of the input by the walk itself; whether it must also match to the end is the
// caller's choice of mask (end for a full match, mid or end for a prefix match).
func compileDFA(patterns ...string) (*dfa, error) {
	return compileTagged(-1, patterns...)
}

// compileTagged is compileDFA that also tracks capture group g (g >= 1) of
// patterns[0]: bit 15 of a state's masks is set when pattern 0 matches through a path
// on which that group took part. With g = 0 every match of pattern 0 counts as such.
func compileTagged(g int, patterns ...string) (*dfa, error) {
	if len(patterns) == 0 || len(patterns) > 15 {
		return nil, errDFARefused
	}
	b := &dfaBuilder{index: make(map[string]uint16), tagCap: ^uint32(0)}
	if g >= 1 {
		b.tagCap = uint32(2 * g)
	}
	for _, p := range patterns {
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			return nil, errDFARefused
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil || len(prog.Inst) >= tagBit || (len(b.progs) == 0 && g >= 1 && re.MaxCap() < g) {
			return nil, errDFARefused
		}
		b.progs = append(b.progs, prog)
		b.seen = append(b.seen, make([]uint32, 2*len(prog.Inst)))
		b.seenEnd = append(b.seenEnd, make([]uint32, 2*len(prog.Inst)))
	}
	b.addState(nil, 0, 0) // state 0: dead
	var start []nfaThread
	var mid, end uint16
	b.gen++
	for k, prog := range b.progs {
		b.closure(&start, &mid, &end, k, uint32(prog.Start), k == 0 && g == 0, true, false)
	}
	b.addState(start, mid, end)
	for s := 1; s < len(b.sets) && b.err == nil; s++ {
		for d := 0; d < 10; d++ {
			b.d.next[s*10+d] = b.step(b.sets[s], rune('0'+d))
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	return &b.d, nil
}

// step returns the state reached from the threads of a state on digit r.
func (b *dfaBuilder) step(threads []nfaThread, r rune) uint16 {
	var next []nfaThread
	var mid, end uint16
	b.gen++
	for _, t := range threads {
		k, tag, pc := int(t>>24), t&tagBit != 0, uint32(t&(tagBit-1))
		if b.progs[k].Inst[pc].MatchRune(r) {
			b.closure(&next, &mid, &end, k, b.progs[k].Inst[pc].Out, tag, false, false)
		}
	}
	return b.addState(next, mid, end)
}

// closure adds to threads the consuming instructions reachable from pc of pattern k
// without reading a digit, and to mid and end the pattern's bit when it can match
// (and bit 15 when tag says the tracked group took part). atStart says the input
// position is 0 ("^" holds); atEnd that only "$" led here.
func (b *dfaBuilder) closure(threads *[]nfaThread, mid, end *uint16, k int, pc uint32, tag, atStart, atEnd bool) {
	prog := b.progs[k]
	for {
		if !b.visit(k, pc, tag, atEnd) {
			return
		}
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			bits := uint16(1) << k
			if tag {
				bits |= tagged
			}
			if !atEnd {
				*mid |= bits
			}
			*end |= bits
			return
		case syntax.InstFail:
			return
		case syntax.InstNop:
			pc = in.Out
		case syntax.InstCapture:
			tag = tag || (k == 0 && in.Arg == b.tagCap)
			pc = in.Out
		case syntax.InstAlt, syntax.InstAltMatch:
			b.closure(threads, mid, end, k, in.Out, tag, atStart, atEnd)
			pc = in.Arg
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			const begin, finish = syntax.EmptyBeginText | syntax.EmptyBeginLine, syntax.EmptyEndText | syntax.EmptyEndLine
			if op&^(begin|finish) != 0 {
				b.err = errDFARefused // word boundaries
				return
			}
			if op&begin != 0 && !atStart {
				return
			}
			if op&finish != 0 {
				// Only a match can follow: no digit can be read after the end.
				atEnd = true
			}
			pc = in.Out
		default: // a consuming instruction
			if atEnd {
				return
			}
			t := nfaThread(uint32(k)<<24 | pc)
			if tag {
				t |= tagBit
			}
			*threads = append(*threads, t)
			return
		}
	}
}

// visit marks pc of pattern k (with tag, after a "$" or not) as reached in the current
// step, and reports whether it was not already: a thread reached before without "$"
// covers one reached after it.
func (b *dfaBuilder) visit(k int, pc uint32, tag, atEnd bool) bool {
	i := 2 * pc
	if tag {
		i++
	}
	if b.seen[k][i] == b.gen || (atEnd && b.seenEnd[k][i] == b.gen) {
		return false
	}
	if atEnd {
		b.seenEnd[k][i] = b.gen
	} else {
		b.seen[k][i] = b.gen
	}
	return true
}

// addState returns the number of the state made of threads and masks, adding it if
// it is new. Two states are the same when their sorted threads and masks are.
func (b *dfaBuilder) addState(threads []nfaThread, mid, end uint16) uint16 {
	if len(threads) == 0 && mid == 0 && end == 0 && len(b.sets) > 0 {
		return 0
	}
	sorted := slices.Clone(threads)
	slices.Sort(sorted)
	key := make([]byte, 0, 4+4*len(sorted))
	key = append(key, byte(mid), byte(mid>>8), byte(end), byte(end>>8))
	for _, t := range sorted {
		key = append(key, byte(t), byte(t>>8), byte(t>>16), byte(t>>24))
	}
	if s, ok := b.index[string(key)]; ok {
		return s
	}
	if len(b.sets) >= maxDFAStates {
		b.err = errDFARefused
		return 0
	}
	s := uint16(len(b.sets))
	b.index[string(key)] = s
	b.sets = append(b.sets, sorted)
	b.d.next = append(b.d.next, make([]uint16, 10)...)
	b.d.mid = append(b.d.mid, mid)
	b.d.end = append(b.d.end, end)
	return s
}

// full returns the end mask after reading all of digits: bit k set when pattern k
// matches digits entirely.
func (d *dfa) full(digits []byte) uint16 {
	s := uint16(1)
	for _, c := range digits {
		if s = d.next[int(s)*10+int(c-'0')]; s == 0 {
			return 0
		}
	}
	return d.end[s]
}

// tagged is the mask bit of matches of pattern 0 through the group compileTagged
// tracks.
const tagged = 1 << 15

// anyTagged reports whether some prefix match of pattern 0 goes through the group
// compileTagged tracks.
func (d *dfa) anyTagged(digits []byte) bool {
	s := uint16(1)
	for _, c := range digits {
		if d.mid[s]&tagged != 0 {
			return true
		}
		if s = d.next[int(s)*10+int(c-'0')]; s == 0 {
			return false
		}
	}
	return d.end[s]&tagged != 0
}

// prefix reports whether pattern 0 matches some prefix of digits (the empty one
// included), as regexp.MatchString of "^(?:pattern)" does.
func (d *dfa) prefix(digits []byte) bool {
	s := uint16(1)
	for _, c := range digits {
		if d.mid[s]&1 != 0 {
			return true
		}
		if s = d.next[int(s)*10+int(c-'0')]; s == 0 {
			return false
		}
	}
	return d.end[s]&1 != 0
}

// prefixEnds reports where prefix matches of pattern 0 end: the number of them (0, 1,
// or 2 meaning "more than one"), and the end of the one when there is just one. When
// there is just one, it is the end of the match that regexp finds, whatever the
// pattern's alternation order; with more, only regexp's leftmost-first rule decides.
func (d *dfa) prefixEnds(digits []byte) (count, end int) {
	s := uint16(1)
	for i, c := range digits {
		if d.mid[s]&1 != 0 {
			if count++; count > 1 {
				return 2, 0
			}
			end = i
		}
		if s = d.next[int(s)*10+int(c-'0')]; s == 0 {
			return count, end
		}
	}
	if d.end[s]&1 != 0 {
		if count++; count > 1 {
			return 2, 0
		}
		end = len(digits)
	}
	return count, end
}

package rules

import (
	"bytes"
	"regexp"
	"slices"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// index finds the pattern a sample matches. ACLs only ask whether one
// does; maps use which one, with HAProxy's precedence (configuration.txt
// 7.3.1 "map": "IP addresses and strings are stored in trees, so the first
// of the finest match will be used. Other keys are stored in lists, so the
// first matching occurrence will be used"; pattern.c: str is an exact tree
// where the first of duplicate keys wins, beg a prefix tree where the
// longest prefix wins, ip a prefix tree where the longest network wins).
// lookup returns the pattern's position in file order, or -1.
type index interface {
	lookup(s *State, smp sample) int
}

// keyBytes returns the sample bytes to look up, lower-cased into the arena
// when the patterns were (-i).
func keyBytes(s *State, smp sample, icase bool) []byte {
	if !icase {
		return smp.b
	}
	b := smp.b
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			out := s.alloc(len(b))
			copy(out, b[:i])
			for j := i; j < len(b); j++ {
				c := b[j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				out[j] = c
			}
			return out
		}
	}
	return b
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// strIndex is an exact string match: a hash table keeping the first
// position of each key.
type strIndex struct {
	m     map[string]int32
	icase bool
}

func newStrIndex(pats []string, icase bool) *strIndex {
	x := &strIndex{m: make(map[string]int32, len(pats)), icase: icase}
	for i, p := range pats {
		if icase {
			p = lowerASCII(p)
		}
		if _, dup := x.m[p]; !dup {
			x.m[p] = int32(i)
		}
	}
	return x
}

func (x *strIndex) lookup(s *State, smp sample) int {
	if i, ok := x.m[string(keyBytes(s, smp, x.icase))]; ok {
		return int(i)
	}
	return -1
}

// affixIndex matches prefixes (beg) or suffixes (end): one hash table of
// the patterns and the distinct pattern lengths, so a lookup is one hash
// probe per length. beg returns the longest matching prefix (pattern.c
// ebmb_lookup_longest); end the first matching pattern in file order.
type affixIndex struct {
	m      map[string]int32
	lens   []int // distinct lengths, longest first
	suffix bool
	icase  bool
}

func newAffixIndex(pats []string, suffix, icase bool) *affixIndex {
	x := &affixIndex{m: make(map[string]int32, len(pats)), suffix: suffix, icase: icase}
	for i, p := range pats {
		if icase {
			p = lowerASCII(p)
		}
		if _, dup := x.m[p]; !dup {
			x.m[p] = int32(i)
			if !slices.Contains(x.lens, len(p)) {
				x.lens = append(x.lens, len(p))
			}
		}
	}
	slices.Sort(x.lens)
	slices.Reverse(x.lens)
	return x
}

func (x *affixIndex) lookup(s *State, smp sample) int {
	key := keyBytes(s, smp, x.icase)
	best := -1
	for _, l := range x.lens {
		if l > len(key) {
			continue
		}
		part := key[:l]
		if x.suffix {
			part = key[len(key)-l:]
		}
		if i, ok := x.m[string(part)]; ok {
			if !x.suffix {
				return int(i) // longest prefix wins
			}
			if best < 0 || int(i) < best {
				best = int(i)
			}
		}
	}
	return best
}

// wordIndex matches dot/colon/slash/question-mark delimited parts (dom) or
// slash/question-mark delimited parts (dir) (configuration.txt 7.1.3;
// pattern.c match_word: a pattern's own leading and trailing delimiters
// are ignored). It hashes the trimmed patterns and looks up every run of
// whole words of the sample; the first pattern in file order wins.
type wordIndex struct {
	m     map[string]int32
	dom   bool
	icase bool
}

// maxWordBounds bounds the runs tried; past it the sample is scanned the
// slow way so that a hostile sample cannot cost a quadratic number of probes.
const maxWordBounds = 32

func isWordDelim(c byte, dom bool) bool {
	return c == '/' || c == '?' || dom && (c == '.' || c == ':')
}

func newWordIndex(pats []string, dom, icase bool) *wordIndex {
	x := &wordIndex{m: make(map[string]int32, len(pats)), dom: dom, icase: icase}
	for i, p := range pats {
		if icase {
			p = lowerASCII(p)
		}
		for p != "" && isWordDelim(p[0], dom) {
			p = p[1:]
		}
		for p != "" && isWordDelim(p[len(p)-1], dom) {
			p = p[:len(p)-1]
		}
		if p == "" {
			continue // only delimiters: matches nothing
		}
		if _, dup := x.m[p]; !dup {
			x.m[p] = int32(i)
		}
	}
	return x
}

func (x *wordIndex) lookup(s *State, smp sample) int {
	key := keyBytes(s, smp, x.icase)
	var starts, ends [maxWordBounds]int
	ns, ne := 0, 0
	for i := 0; i <= len(key); i++ {
		atDelim := i == len(key) || isWordDelim(key[i], x.dom)
		if (i == 0 || isWordDelim(key[i-1], x.dom)) && !atDelim {
			if ns == maxWordBounds {
				return x.slow(key)
			}
			starts[ns] = i
			ns++
		}
		if atDelim && i > 0 && !isWordDelim(key[i-1], x.dom) {
			if ne == maxWordBounds {
				return x.slow(key)
			}
			ends[ne] = i
			ne++
		}
	}
	best := -1
	for _, st := range starts[:ns] {
		for _, en := range ends[:ne] {
			if en <= st {
				continue
			}
			if i, ok := x.m[string(key[st:en])]; ok && (best < 0 || int(i) < best) {
				best = int(i)
			}
		}
	}
	return best
}

// slow checks each pattern against the sample (long samples only).
func (x *wordIndex) slow(key []byte) int {
	best := -1
	for p, i := range x.m {
		if best >= 0 && int(i) >= best {
			continue
		}
		for off := 0; ; {
			j := bytes.Index(key[off:], []byte(p))
			if j < 0 {
				break
			}
			st, en := off+j, off+j+len(p)
			if (st == 0 || isWordDelim(key[st-1], x.dom)) && (en == len(key) || isWordDelim(key[en], x.dom)) {
				best = int(i)
				break
			}
			off = st + 1
		}
	}
	return best
}

// subIndex is a substring match: a scan, first pattern in file order.
type subIndex struct {
	pats  [][]byte
	icase bool
}

func (x *subIndex) lookup(s *State, smp sample) int {
	key := keyBytes(s, smp, x.icase)
	for i, p := range x.pats {
		if bytes.Contains(key, p) {
			return i
		}
	}
	return -1
}

// regIndex is a regex match: a scan, first pattern in file order.
type regIndex struct {
	res []*regexp.Regexp
}

func (x *regIndex) lookup(_ *State, smp sample) int {
	for i, re := range x.res {
		if re.Match(smp.b) {
			return i
		}
	}
	return -1
}

// rangeIndex matches integers (int) or lengths (len) against ranges.
type rangeIndex struct {
	min, max []int64
	length   bool
}

func (x *rangeIndex) lookup(_ *State, smp sample) int {
	v := smp.i
	if x.length {
		v = int64(len(smp.b))
	}
	for i := range x.min {
		if x.min[i] <= v && v <= x.max[i] {
			return i
		}
	}
	return -1
}

// binIndex matches a binary sample exactly.
type binIndex struct{ pats [][]byte }

func (x *binIndex) lookup(_ *State, smp sample) int {
	for i, p := range x.pats {
		if bytes.Equal(p, smp.b) {
			return i
		}
	}
	return -1
}

// methIndex matches the HTTP method: a well-known method compares exactly;
// another one compares with -i if given (http_acl.c pat_match_meth).
type methIndex struct {
	pats  [][]byte
	icase bool
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

func isKnownMethod(m []byte) bool { return slices.Contains(knownMethods, string(m)) }

func (x *methIndex) lookup(_ *State, smp sample) int {
	for i, p := range x.pats {
		if bytes.Equal(p, smp.b) {
			return i
		}
		if x.icase && bytes.EqualFold(p, smp.b) && !slices.Contains(knownMethods, string(p)) && !slices.Contains(knownMethods, string(smp.b)) {
			return i
		}
	}
	return -1
}

// buildIndex compiles patterns for a match method. found and bool take no
// index (nil).
func buildIndex(m crules.Match, pats []crules.Pattern, icase bool) index {
	texts := make([]string, len(pats))
	for i, p := range pats {
		texts[i] = p.Text
	}
	switch m {
	case crules.MatchStr, crules.MatchBeg, crules.MatchEnd, crules.MatchDom, crules.MatchDir:
		if len(texts) <= smallIndexMax {
			return newSmallIndex(m, texts, icase)
		}
	}
	switch m {
	case crules.MatchStr:
		return newStrIndex(texts, icase)
	case crules.MatchBeg:
		return newAffixIndex(texts, false, icase)
	case crules.MatchEnd:
		return newAffixIndex(texts, true, icase)
	case crules.MatchDom, crules.MatchDir:
		return newWordIndex(texts, m == crules.MatchDom, icase)
	case crules.MatchSub:
		x := &subIndex{icase: icase}
		for _, t := range texts {
			if icase {
				t = lowerASCII(t)
			}
			x.pats = append(x.pats, []byte(t))
		}
		return x
	case crules.MatchReg, crules.MatchRegm:
		x := &regIndex{}
		for _, t := range texts {
			x.res = append(x.res, compileRegex(t, icase))
		}
		return x
	case crules.MatchInt, crules.MatchLen:
		x := &rangeIndex{length: m == crules.MatchLen}
		for _, p := range pats {
			x.min, x.max = append(x.min, p.Min), append(x.max, p.Max)
		}
		return x
	case crules.MatchIP:
		if len(pats) <= smallIndexMax {
			x := &smallIPIndex{}
			for _, p := range pats {
				x.nets = append(x.nets, p.Prefix)
			}
			return x
		}
		x := newIPIndex()
		for i, p := range pats {
			x.insert(p.Prefix, int32(i))
		}
		return x
	case crules.MatchBin:
		x := &binIndex{}
		for _, p := range pats {
			x.pats = append(x.pats, p.Bin)
		}
		return x
	case crules.MatchMeth:
		x := &methIndex{icase: icase}
		for _, t := range texts {
			x.pats = append(x.pats, []byte(t))
		}
		return x
	case crules.MatchGroup:
		return &groupIndex{groups: texts}
	}
	return nil
}

// compileRegex compiles a checked regex (config/rules compiled it once
// already); -i becomes RE2's (?i).
func compileRegex(re string, icase bool) *regexp.Regexp {
	if icase {
		re = "(?i)" + re
	}
	return regexp.MustCompile(re)
}

// smallIndexMax is the pattern count up to which a scan beats hashing.
const smallIndexMax = 4

// smallIndex is the str, beg, end, dom and dir match for a few patterns:
// direct comparisons, case folded for -i, same precedence as the hashed
// indexes (beg: longest prefix; others: first in file order).
type smallIndex struct {
	m     crules.Match
	pats  [][]byte
	icase bool
}

func (x *smallIndex) eq(a, b []byte) bool {
	if x.icase {
		return bytes.EqualFold(a, b)
	}
	return bytes.Equal(a, b)
}

func (x *smallIndex) lookup(_ *State, smp sample) int {
	b := smp.b
	best := -1
	for i, p := range x.pats {
		switch x.m {
		case crules.MatchStr:
			if x.eq(b, p) {
				return i
			}
		case crules.MatchBeg:
			if len(p) <= len(b) && x.eq(b[:len(p)], p) && (best < 0 || len(p) > len(x.pats[best])) {
				best = i
			}
		case crules.MatchEnd:
			if len(p) <= len(b) && x.eq(b[len(b)-len(p):], p) {
				return i
			}
		case crules.MatchDom, crules.MatchDir:
			if x.word(b, p, x.m == crules.MatchDom) {
				return i
			}
		}
	}
	return best
}

// word is pattern.c match_word for one pattern already trimmed of its
// delimiters (newSmallIndex trims them).
func (x *smallIndex) word(b, p []byte, dom bool) bool {
	if len(p) == 0 || len(p) > len(b) {
		return false
	}
	for c := 0; c+len(p) <= len(b); c++ {
		if c > 0 && !isWordDelim(b[c-1], dom) || isWordDelim(b[c], dom) {
			continue
		}
		if x.eq(b[c:c+len(p)], p) && (c+len(p) == len(b) || isWordDelim(b[c+len(p)], dom)) {
			return true
		}
	}
	return false
}

func newSmallIndex(m crules.Match, texts []string, icase bool) *smallIndex {
	x := &smallIndex{m: m, icase: icase}
	for _, t := range texts {
		if m == crules.MatchDom || m == crules.MatchDir {
			dom := m == crules.MatchDom
			for t != "" && isWordDelim(t[0], dom) {
				t = t[1:]
			}
			for t != "" && isWordDelim(t[len(t)-1], dom) {
				t = t[:len(t)-1]
			}
		}
		x.pats = append(x.pats, []byte(t))
	}
	return x
}

package rules

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// Criteria on the same expression that match strings exactly, by prefix,
// by suffix or by words (dom, dir), or addresses against networks, are
// evaluated together:
// the first time a request needs one of them, the expression's values are
// looked up once in tables that hold every pattern of the group, each
// pattern naming the criteria it belongs to, and the results are kept
// (one bit per criterion) until what the expression reads changes
// (memo.go's stamps). Fifty "path_beg" ACLs then cost a fetch and a
// hash probe per distinct pattern length, not fifty walks. It is safe
// because criteria have no side effects: answering one that a
// short-circuit would have skipped changes nothing. Criteria whose answer
// may change without an edit (variables, payload, server state, time) are
// not grouped, nor other match methods (they are matched one by one).

// critGroup is the grouped criteria of a section on one expression.
type critGroup struct {
	e      *expr
	dep    int           // what e reads (memo.go)
	n      int           // criteria in the group
	tables []*fusedTable // str, beg, end, dom and dir patterns, by method and case
	nets   []fusedNet    // ip patterns
	slot   int           // index of its results in State.groups
	word   int           // its result bits start at State.groupBits[word]
	words  int
}

// fusedTable holds the patterns of one method (str, beg, end, dom, dir) and case
// rule of a group: pattern (lower-cased with -i) → the criteria it passes.
type fusedTable struct {
	m     crules.Match
	icase bool
	pats  map[string][]uint16
	lens  []int // distinct pattern lengths (beg, end)
	// short has bit n set when a pattern is n bytes long (n < maxShort):
	// a run of words of another length is not looked up.
	short [maxShort / 64]uint64
}

const maxShort = 256

// mayHold reports whether t has a pattern of n bytes.
func (t *fusedTable) mayHold(n int) bool {
	return n >= maxShort || t.short[n/64]&(1<<(n%64)) != 0
}

type fusedNet struct {
	net netip.Prefix
	bit uint16
}

// groupRes is one group's results in a request.
type groupRes struct {
	at uint64 // the memo clock when they were computed
}

// groupKey is the identity of an expression for grouping, or "" when
// its criteria must be evaluated one by one.
func groupKey(e *crules.Expr) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(e.Fetch)))
	for _, a := range e.Args {
		if a.Var != nil {
			return ""
		}
		b.WriteString("\x00" + a.Text)
	}
	for _, c := range e.Convs {
		b.WriteString("\x01" + c.Name)
		for _, a := range c.Args {
			if a.Var != nil {
				return ""
			}
			b.WriteString("\x00" + a.Text)
		}
	}
	return b.String()
}

// maxGroup bounds a group's criteria (bits are uint16 indexes).
const maxGroup = 1 << 16

// group puts a compiled criterion into the group of its expression when
// its method can be fused.
func (cc *compiler) group(c *crules.Criterion, x *criterion) {
	switch c.Match {
	case crules.MatchStr, crules.MatchBeg, crules.MatchEnd, crules.MatchDom, crules.MatchDir, crules.MatchIP:
	default:
		return
	}
	if x.e.memo < 0 {
		return
	}
	k := groupKey(c.Expr)
	if k == "" {
		return
	}
	g := cc.groups[k]
	if g == nil {
		g = &critGroup{e: x.e, dep: x.e.dep, slot: -1}
		cc.groups[k] = g
	}
	if g.n == maxGroup {
		return
	}
	bit := uint16(g.n)
	g.n++
	x.group, x.bit = g, int(bit)
	add := func(pats []crules.Pattern, icase bool) {
		if c.Match == crules.MatchIP {
			for _, p := range pats {
				g.nets = append(g.nets, fusedNet{p.Prefix, bit})
			}
			return
		}
		t := g.table(c.Match, icase)
		for _, p := range pats {
			text := p.Text
			if icase {
				text = lowerASCII(text)
			}
			if c.Match == crules.MatchDom || c.Match == crules.MatchDir {
				// pattern.c match_word ignores a pattern's own leading
				// and trailing delimiters; one of only delimiters
				// matches nothing.
				dom := c.Match == crules.MatchDom
				for text != "" && isWordDelim(text[0], dom) {
					text = text[1:]
				}
				for text != "" && isWordDelim(text[len(text)-1], dom) {
					text = text[:len(text)-1]
				}
				if text == "" {
					continue
				}
			}
			if owners := t.pats[text]; !slices.Contains(owners, bit) {
				t.pats[text] = append(owners, bit)
			}
			if !slices.Contains(t.lens, len(text)) {
				t.lens = append(t.lens, len(text))
			}
			if n := len(text); n < maxShort {
				t.short[n/64] |= 1 << (n % 64)
			}
		}
	}
	for _, f := range c.Files {
		add(f.Patterns, f.IgnoreCase)
	}
	add(c.Patterns, c.IgnoreCase)
}

func (g *critGroup) table(m crules.Match, icase bool) *fusedTable {
	for _, t := range g.tables {
		if t.m == m && t.icase == icase {
			return t
		}
	}
	t := &fusedTable{m: m, icase: icase, pats: map[string][]uint16{}}
	g.tables = append(g.tables, t)
	return t
}

// layoutGroups numbers the groups of two criteria or more and gives each
// its words of result bits; a criterion alone is matched by itself.
func (p *Program) layoutGroups(groups map[string]*critGroup, crits []*criterion) {
	for _, c := range crits {
		if c.group != nil && c.group.n < 2 {
			c.group = nil
		}
	}
	for _, g := range groups {
		if g.n < 2 {
			continue
		}
		g.slot, g.word, g.words = p.numGroups, p.groupWords, (g.n+63)/64
		p.numGroups++
		p.groupWords += g.words
	}
}

// groupResult is criterion c's result, through its group.
func (s *State) groupResult(c *criterion) tri {
	g := c.group
	if !s.validAt(s.groups[g.slot].at, g.dep) {
		s.refreshGroup(g)
	}
	if s.groupBits[g.word+c.bit/64]&(1<<(c.bit%64)) != 0 {
		return triPass
	}
	return triFail
}

// refreshGroup computes g's results for the request as it is now.
func (s *State) refreshGroup(g *critGroup) {
	s.evalGroup(g, s.groupBits[g.word:g.word+g.words])
	s.groups[g.slot].at = s.buf.clock
}

// evalGroup passes the criteria any value of the expression matches.
func (s *State) evalGroup(g *critGroup, bits []uint64) {
	clear(bits)
	it := iter{acl: true}
	var smp sample
	for {
		if s.eval(g.e, &it, &smp) {
			if len(g.tables) > 0 {
				if v := smp; s.cast(&v, crules.TypeStr) {
					s.matchTables(g, v.b, bits)
				}
			}
			if len(g.nets) > 0 {
				if v := smp; s.cast(&v, crules.TypeAddr) {
					matchNets(g, v.a, bits)
				}
			}
		}
		if !it.more {
			return
		}
	}
}

func (s *State) matchTables(g *critGroup, b []byte, bits []uint64) {
	var lower []byte
	for _, t := range g.tables {
		key := b
		if t.icase {
			if lower == nil {
				lower = keyBytes(s, sample{b: b}, true)
			}
			key = lower
		}
		switch t.m {
		case crules.MatchStr:
			setBits(bits, t.pats[string(key)])
		case crules.MatchBeg:
			for _, l := range t.lens {
				if l <= len(key) {
					setBits(bits, t.pats[string(key[:l])])
				}
			}
		case crules.MatchEnd:
			for _, l := range t.lens {
				if l <= len(key) {
					setBits(bits, t.pats[string(key[len(key)-l:])])
				}
			}
		case crules.MatchDom, crules.MatchDir:
			matchWords(t, key, bits)
		}
	}
}

// matchWords passes the criteria with a pattern that is a run of whole
// words of key (dom: '.', ':', '/', '?' delimit; dir: '/', '?'), trying
// every run as wordIndex does, or each pattern against a long key.
func matchWords(t *fusedTable, key []byte, bits []uint64) {
	dom := t.m == crules.MatchDom
	var starts, ends [maxWordBounds]int
	ns, ne := 0, 0
	for i := 0; i <= len(key); i++ {
		atDelim := i == len(key) || isWordDelim(key[i], dom)
		if (i == 0 || isWordDelim(key[i-1], dom)) && !atDelim {
			if ns == maxWordBounds {
				matchWordsSlow(t, key, bits)
				return
			}
			starts[ns] = i
			ns++
		}
		if atDelim && i > 0 && !isWordDelim(key[i-1], dom) {
			if ne == maxWordBounds {
				matchWordsSlow(t, key, bits)
				return
			}
			ends[ne] = i
			ne++
		}
	}
	for _, st := range starts[:ns] {
		for _, en := range ends[:ne] {
			if en > st && t.mayHold(en-st) {
				setBits(bits, t.pats[string(key[st:en])])
			}
		}
	}
}

func matchWordsSlow(t *fusedTable, key []byte, bits []uint64) {
	dom := t.m == crules.MatchDom
	for p, owners := range t.pats {
		for off := 0; ; {
			j := bytes.Index(key[off:], []byte(p))
			if j < 0 {
				break
			}
			st, en := off+j, off+j+len(p)
			if (st == 0 || isWordDelim(key[st-1], dom)) && (en == len(key) || isWordDelim(key[en], dom)) {
				setBits(bits, owners)
				break
			}
			off = st + 1
		}
	}
}

// matchNets passes the criteria with a network holding a, or a's form in
// the other family (as the ip indexes do).
func matchNets(g *critGroup, a netip.Addr, bits []uint64) {
	if !a.IsValid() {
		return
	}
	o := otherFamily(a)
	for _, n := range g.nets {
		if n.net.Contains(a) || o.IsValid() && n.net.Contains(o) {
			bits[n.bit/64] |= 1 << (n.bit % 64)
		}
	}
}

func setBits(bits []uint64, owners []uint16) {
	for _, b := range owners {
		bits[b/64] |= 1 << (b % 64)
	}
}

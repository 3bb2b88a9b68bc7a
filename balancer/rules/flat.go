package rules

// Flat conditions. Most conditions of a real configuration test grouped
// criteria (group.go: path_beg, hdr_dom, src and the like) and header
// presence (hdr(NAME) -m found, hdrindex.go), each once per rule, and
// most of them fail. Evaluated through the general tree (cond → suite →
// term → acl → criterion → group), a rule costs a walk over five objects
// compiled apart in memory, which a request then meets cold: about 25 ns
// a rule in situ, half the rules stage of a 50-rule frontend. A
// condition made only of such terms is also compiled flat: one run of
// flatTerms per condition, the runs of a section side by side in one
// array, each term holding what its answer needs (the group's result
// slot and bit, or the field's number). evalCond answers from it; a term
// whose answer the flat form cannot give (a field index not built) sends
// the whole condition to the general path, which gives the same answer
// since criteria have no side effects.

// flatTerm is one term of a flat condition.
type flatTerm struct {
	mask uint64 // the term's bits in State.groupBits[word] (a group term)
	word int32
	slot int32 // the group's State.groups slot; -1: a found term
	dep  int32 // what the group's expression reads (memo.go)
	neg  bool
	last bool       // it ends its suite (the conditions's ORs)
	g    *critGroup // a group term: evaluated through it when not current
	// found is the hdr(NAME) -m found criterion of a found term.
	found *criterion
}

// flatten gives each condition of conds that can have one its flat form,
// all in one array.
func flatten(conds []*cond) {
	var all []flatTerm
	type span struct {
		c        *cond
		off, end int
	}
	var spans []span
	for _, c := range conds {
		ts, ok := flatTerms(c)
		if !ok {
			continue
		}
		spans = append(spans, span{c, len(all), len(all) + len(ts)})
		all = append(all, ts...)
	}
	for _, sp := range spans {
		sp.c.flat = all[sp.off:sp.end:sp.end]
	}
}

// flatTerms is c's flat form, or false when a term is not flat: an ACL
// of criteria in several groups or words, a criterion that is neither
// grouped nor a found test, or an empty suite.
func flatTerms(c *cond) ([]flatTerm, bool) {
	if len(c.or) == 0 {
		return nil, false
	}
	var ts []flatTerm
	for _, suite := range c.or {
		if len(suite) == 0 {
			return nil, false
		}
		for i, t := range suite {
			ft, ok := flatTermOf(t)
			if !ok {
				return nil, false
			}
			ft.last = i == len(suite)-1
			ts = append(ts, ft)
		}
	}
	return ts, true
}

func flatTermOf(t term) (flatTerm, bool) {
	crits := t.acl.crits
	if len(crits) == 0 {
		return flatTerm{}, false
	}
	if c := crits[0]; len(crits) == 1 && c.group == nil && c.foundID >= 0 {
		return flatTerm{slot: -1, neg: t.neg, found: c}, true
	}
	g := crits[0].group
	if g == nil {
		return flatTerm{}, false
	}
	word := crits[0].bit / 64
	ft := flatTerm{word: int32(g.word + word), slot: int32(g.slot), dep: int32(g.dep), neg: t.neg, g: g}
	for _, c := range crits {
		// An ACL of several criteria passes when any does: one mask, as
		// long as they share the group and the word.
		if c.group != g || c.bit/64 != word {
			return flatTerm{}, false
		}
		ft.mask |= 1 << (c.bit % 64)
	}
	return ft, true
}

// evalFlat evaluates a flat condition (before its unless); ok is false
// when a term could not be answered here.
func (s *State) evalFlat(ts []flatTerm) (pass, ok bool) {
	suite := true
	for i := range ts {
		t := &ts[i]
		if suite {
			var hit bool
			if t.slot < 0 {
				r, known := s.foundResult(t.found)
				if !known {
					return false, false
				}
				hit = r == triPass
			} else {
				if !s.validAt(s.groups[t.slot].at, int(t.dep)) {
					s.refreshGroup(t.g)
				}
				hit = s.groupBits[t.word]&t.mask != 0
			}
			suite = hit != t.neg
		}
		if t.last {
			if suite {
				return true, true
			}
			suite = true
		}
	}
	return false, true
}

package rules

import (
	crules "github.com/tandem-lb/tandem/config/rules"
)

// A request's header fields are indexed by name once per request (and
// response stage): every field whose name a memoised fetch reads
// (Program.fieldIDs) is linked to the next field of the same name, so
// that hdr(x-api-key) goes straight to its fields instead of comparing
// every name. The index keeps plain field positions, so iterators and
// memo slots work the same with and without it. The rules' own edits
// keep it up to date (indexAdded, indexDeleted); an edit it cannot follow
// starts a new request stage (State.edited(-1)), which makes it stale.

// maxIndexedName bounds the names the index looks up (longer names are
// compared the slow way).
const maxIndexedName = 64

// hdrIndex is the index of one message's fields.
type hdrIndex struct {
	at    uint64  // memo clock when built; valid while the fields are
	first []int32 // per field name id: position+1 of its first field, 0: none
	next  []int32 // per field: position+1 of the next field of its name
}

// index returns the current index of f (the request's when res is false),
// building it when stale; nil when the program's names cannot be indexed.
func (s *State) index(f Fields, res bool) *hdrIndex {
	p := s.prog
	if p.fieldIDs == nil {
		return nil
	}
	ix := &s.buf.reqIx
	if res {
		ix = &s.buf.resIx
	}
	if ix.first != nil && ix.at >= s.buf.start && len(ix.next) == f.NumFields() {
		return ix
	}
	ix.at = s.buf.clock
	if cap(ix.first) < p.numFieldDeps {
		ix.first = make([]int32, p.numFieldDeps)
	}
	ix.first = ix.first[:p.numFieldDeps]
	clear(ix.first)
	n := f.NumFields()
	if cap(ix.next) < n {
		ix.next = make([]int32, n, 2*n)
	}
	ix.next = ix.next[:n]
	var buf [maxIndexedName]byte
	for i := n - 1; i >= 0; i-- {
		ix.next[i] = 0
		name, _ := f.Field(i)
		if len(name) > maxIndexedName || !p.fieldLens[len(name)] {
			continue
		}
		for j, c := range name {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[j] = c
		}
		id, ok := p.fieldIDs[string(buf[:len(name)])]
		if !ok {
			continue
		}
		ix.next[i] = ix.first[id] // built backwards: the first seen so far follows
		ix.first[id] = int32(i + 1)
	}
	return ix
}

// nextNamed is nextValue for the fields of name id, through the index.
func nextNamed(f Fields, ix *hdrIndex, id int, full bool, fi, pos *int) ([]byte, bool) {
	j := int(ix.first[id]) - 1
	for j >= 0 && j < *fi {
		j = int(ix.next[j]) - 1
	}
	if j < 0 {
		*fi, *pos = f.NumFields(), 0
		return nil, false
	}
	if j != *fi {
		*fi, *pos = j, 0
	}
	for {
		_, fv := f.Field(j)
		if full {
			*fi = j + 1
			return fv, true
		}
		if el, ok := nextElement(fv, pos); ok {
			if *pos > len(fv) {
				*fi, *pos = j+1, 0
			}
			return el, true
		}
		j = int(ix.next[j]) - 1
		if j < 0 {
			*fi, *pos = f.NumFields(), 0
			return nil, false
		}
		*fi, *pos = j, 0
	}
}

func (s *State) currentIndex(res bool) *hdrIndex {
	ix := &s.buf.reqIx
	if res {
		ix = &s.buf.resIx
	}
	if ix.first == nil || ix.at < s.buf.start {
		return nil
	}
	return ix
}

// indexAdded follows a field appended with name id (-1: not indexed).
func (s *State) indexAdded(res bool, id int) {
	ix := s.currentIndex(res)
	if ix == nil {
		return
	}
	n := int32(len(ix.next))
	ix.next = append(ix.next, 0)
	if id < 0 || id >= len(ix.first) {
		return
	}
	if ix.first[id] == 0 {
		ix.first[id] = n + 1
		return
	}
	j := ix.first[id] - 1
	for ix.next[j] != 0 {
		j = ix.next[j] - 1
	}
	ix.next[j] = n + 1
}

// indexDeleted follows the removal of field i: links to it go to its
// successor, and positions after it move down by one.
func (s *State) indexDeleted(res bool, i int) {
	ix := s.currentIndex(res)
	if ix == nil {
		return
	}
	if i >= len(ix.next) {
		ix.first = nil // out of step: rebuild
		return
	}
	at, succ := int32(i+1), ix.next[i]
	fix := func(p int32) int32 {
		if p == at {
			p = succ
		}
		if p > at {
			p--
		}
		return p
	}
	for id, p := range ix.first {
		ix.first[id] = fix(p)
	}
	ix.next = append(ix.next[:i], ix.next[i+1:]...)
	for j, p := range ix.next {
		ix.next[j] = fix(p)
	}
}

// foundByIndex answers "hdr(NAME) -m found" (any field named NAME, even
// empty, is a value: http_fetch.c) from the field index.
func (cc *compiler) foundByIndex(c *crules.Criterion, x *criterion) {
	e := c.Expr
	switch e.Fetch {
	case crules.FetchReqHdr, crules.FetchReqFhdr, crules.FetchResHdr, crules.FetchResFhdr:
	default:
		return
	}
	if len(e.Convs) > 0 || len(e.Args) != 1 || e.Args[0].Text == "" || x.e.dep < depNamed {
		return
	}
	x.foundID, x.foundRes = x.e.dep-depNamed, isResponseFetch(e.Fetch)
}

// foundResult is a foundByIndex criterion's answer; ok is false when the
// index cannot tell (the criterion is then evaluated as any other).
func (s *State) foundResult(c *criterion) (t tri, ok bool) {
	f := Fields(s.In.Req)
	if c.foundRes {
		f = s.In.Res
	}
	if f == nil {
		return triFail, true
	}
	ix := s.index(f, c.foundRes)
	if ix == nil {
		return triFail, false
	}
	if ix.first[c.foundID] != 0 {
		return triPass, true
	}
	return triFail, true
}

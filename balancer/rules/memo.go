package rules

import (
	"strconv"
	"strings"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// A request's fetches are memoised: the first result of each distinct
// fetch (fetch and arguments, asked by an ACL or for a sample) is kept in
// a slot of the State, so that fifty rules reading the path or the Host
// field read it once. A result stays valid until what it reads changes:
// each slot says what it depends on (the request line, the fields, one
// field name, or the connection), each edit says what it changed, and
// Begin and each response stage start afresh. Fetches whose result can
// change otherwise (variables, payload, server state, time) are not
// memoised.
//
// Validity uses stamps, not clearing: the State's clock (buf.clock) only
// grows; start is the clock when the request (or response stage) began,
// changed[d] when dependency d last changed. A slot filled at clock t is
// valid when t >= start and t >= changed[its dependency].

// Dependencies of a memoised fetch; named fields come after these.
const (
	depNone    = iota // the connection: never changes in a request
	depLine           // the request line, the status
	depFields         // any field (fetches without a name, req.hdrs)
	depAnyName        // changed by edits whose name is a pattern
	depAll            // the line and the fields (base)
	depNamed          // first named field: depNamed+k for name k
)

// memoEntry is one slot: the fetch's result and its iterator state after
// the first value.
type memoEntry struct {
	at   uint64
	ok   bool
	more bool
	smp  sample
	a, b int
	c    int
}

// memoSlot gives the slot of a fetch and its dependency, or -1 for
// fetches that are not memoised.
func (cc *compiler) memoSlot(e *crules.Expr, acl bool) (slot, dep int) {
	dep = cc.memoDep(e)
	if dep < 0 || cc.p.plain {
		return -1, dep
	}
	var key strings.Builder
	key.WriteString(strconv.Itoa(int(e.Fetch)))
	if acl {
		key.WriteString("/acl")
	}
	for _, a := range e.Args {
		key.WriteString("\x00" + a.Text)
	}
	k := key.String()
	if n, ok := cc.p.memoKeys[k]; ok {
		return n, dep
	}
	n := cc.p.memoSlots
	cc.p.memoKeys[k] = n
	cc.p.memoSlots++
	return n, dep
}

// memoDep is what a fetch reads, or -1 when it is not memoised.
func (cc *compiler) memoDep(e *crules.Expr) int {
	switch groupOf(e.Fetch) {
	case groupConn:
		return depNone
	case groupFields:
		switch e.Fetch {
		case crules.FetchStatus:
			return depLine
		case crules.FetchResVer:
			return depNone
		case crules.FetchReqCook, crules.FetchReqCookCnt, crules.FetchReqCookVal:
			return cc.fieldDep("cookie")
		case crules.FetchResCook, crules.FetchResCookCnt:
			return cc.fieldDep("set-cookie")
		}
		if len(e.Args) == 0 || e.Args[0].Text == "" {
			return depFields
		}
		return cc.fieldDep(e.Args[0].Text)
	case groupRequest:
		switch e.Fetch {
		case crules.FetchHTTPAuth, crules.FetchHTTPAuthGroup, crules.FetchHTTPAuthUser,
			crules.FetchHTTPAuthPass, crules.FetchHTTPAuthType:
			return -1 // cached by authUser already
		case crules.FetchReqHdrs:
			return depFields
		case crules.FetchBase:
			return depAll
		case crules.FetchCaptureReqURI:
			return -1 // known once the http-request rules start (captureURI)
		case crules.FetchReqProtoHTTP, crules.FetchCaptureReqVer, crules.FetchReqVer:
			return depNone
		}
		return depLine
	}
	return -1
}

// fieldDep is the dependency of the fields named name.
func (cc *compiler) fieldDep(name string) int {
	name = lowerASCII(name)
	if n, ok := cc.p.fieldDeps[name]; ok {
		return n
	}
	n := depNamed + len(cc.p.fieldDeps)
	cc.p.fieldDeps[name] = n
	return n
}

// editDep is what a rule's edit changes: a named field, fields matching
// a name pattern (depAnyName), or the line;
// -2 for an action that edits nothing memoised, -1 for one that may edit
// anything.
func (cc *compiler) editDep(r *crules.Rule) int {
	switch r.Action {
	case crules.ActSetVar, crules.ActSetVarFmt, crules.ActUnsetVar:
		return -2
	case crules.ActSetHeader, crules.ActAddHeader, crules.ActReplaceHeader, crules.ActReplaceValue:
		return cc.knownField(r.Header)
	case crules.ActDelHeader:
		if r.NameMatch == crules.MatchStr || r.NameMatch == crules.MatchNone {
			return cc.knownField(r.Header)
		}
		return depAnyName
	case crules.ActSetMethod, crules.ActSetPath, crules.ActSetPathq, crules.ActSetQuery,
		crules.ActReplacePath, crules.ActReplacePathq, crules.ActSetStatus:
		return depLine
	}
	return -1 // set-uri and replace-uri change Host too; others: be safe
}

// knownField is the dependency of an edited field name, numbered like
// the fetches' whichever is compiled first.
func (cc *compiler) knownField(name string) int { return cc.fieldDep(name) }

// newRequest starts a new request or response stage: every slot is stale.
func (s *State) newRequest() {
	s.buf.clock++
	s.buf.start = s.buf.clock
	if n := depNamed + s.prog.numFieldDeps; cap(s.buf.changed) < n {
		s.buf.changed = make([]uint64, n)
	} else {
		s.buf.changed = s.buf.changed[:n]
	}
}

// edited records an edit of what dep names (editDep).
func (s *State) edited(dep int) {
	switch {
	case dep == -2:
		return
	case dep < 0:
		s.newRequest() // anything may have changed
		return
	}
	s.buf.clock++
	ch := s.buf.changed
	switch {
	case dep == depLine:
		ch[depLine] = s.buf.clock
	case dep == depFields:
		ch[depFields] = s.buf.clock
	case dep == depAnyName:
		ch[depFields], ch[depAnyName] = s.buf.clock, s.buf.clock
	default:
		ch[depFields], ch[dep] = s.buf.clock, s.buf.clock
	}
	ch[depAll] = s.buf.clock
}

// valid reports whether a slot is still current for dep.
func (s *State) valid(m *memoEntry, dep int) bool {
	if !s.validAt(m.at, dep) {
		return false
	}
	// A later value's position (a field index) moves when any field is
	// added or removed.
	return !m.more || dep < depNamed || m.at >= s.buf.changed[depFields]
}

// validAt reports whether what dep names is unchanged since clock at.
func (s *State) validAt(at uint64, dep int) bool {
	if at < s.buf.start {
		return false
	}
	ch := s.buf.changed
	switch {
	case dep == depNone:
		return true
	case dep >= depNamed:
		return at >= ch[dep] && at >= ch[depAnyName]
	}
	return at >= ch[dep]
}

// memoFetch is fetch through the request's memo: the first value of a
// memoised fetch comes from its slot when the slot is current.
func (s *State) memoFetch(e *expr, it *iter, smp *sample) bool {
	if e.memo < 0 || it.started {
		return s.fetch(e, it, smp)
	}
	m := &s.memo[e.memo]
	if s.valid(m, e.dep) {
		*smp = m.smp
		it.more, it.a, it.b, it.c, it.started = m.more, m.a, m.b, m.c, true
		return m.ok
	}
	ok := s.fetch(e, it, smp)
	*m = memoEntry{at: s.buf.clock, ok: ok, smp: *smp, more: it.more, a: it.a, b: it.b, c: it.c}
	return ok
}

package rules

import (
	"net/netip"
	"sync"

	crules "github.com/tandem-lb/tandem/config/rules"
)

// State is the per-request evaluation state: the Input the core fills,
// variables, the reply and scratch buffers. Get it from Program.Get, call
// Begin for each request, and Put it back when the transaction ends.
type State struct {
	In Input

	prog *Program
	sess *Session
	fe   *Proxy // the frontend, set by Begin
	be   *Proxy // the backend whose rules ran last
	vars []value
	set  []bool // vars[i] is set
	memo []memoEntry
	// groups and groupBits are the criterion groups' results (group.go).
	groups    []groupRes
	groupBits []uint64
	reply     Reply

	// origURI is the request-target as first seen (capture.req.uri).
	origURI    []byte
	origMethod []byte
	origSet    bool
	// auth caches http_auth results for this request (userlist index ->
	// user index +1, -1 for "checked, no valid user").
	auth      []int
	authValid bool
	miss      bool // a fetch said "may change" (payload not final)
	partial   bool // tcp-request content rules run before In.Final
	// noStream: tcp-request connection and session rules run before
	// HAProxy has a stream, so txn, req and res variables do not exist
	// there (vars.c get_vars gives nothing: setting them does nothing).
	noStream   bool
	resStarted bool

	buf buffers
}

// buffers are the State's storage kept across requests (reset to length 0).
type buffers struct {
	arena  []byte  // converter and log-format output
	vals   []value // variables' storage, reused
	set    []bool
	fields []Field
	auth   []int
	orig   []byte
	parts  []part // log-format pieces being rendered
	// The memo's slots and stamps (memo.go): clock only grows, start is
	// its value when the request began, changed[d] when d last changed.
	memo      []memoEntry
	groups    []groupRes
	groupBits []uint64
	changed   []uint64
	clock     uint64
	start     uint64
	// reqIx and resIx index the fields by name (hdrindex.go).
	reqIx, resIx hdrIndex
}

// value is a typed sample as variables store it: bytes are owned.
type value struct {
	t crules.Type
	b []byte
	i int64
	a netip.Addr
}

// Session is per-connection state: the sess.* variables. One Session may
// serve concurrent requests (HTTP/2), hence the lock.
type Session struct {
	mu   sync.Mutex
	vars map[int]value
}

// NewSession returns the state of a new client connection.
func NewSession() *Session { return &Session{} }

// Get returns a State for one request of this program.
func (p *Program) Get() *State {
	s, _ := p.pool.Get().(*State)
	if s == nil {
		s = &State{}
	}
	s.prog = p
	return s
}

// Put returns a State to the pool; it must not be used afterwards.
func (p *Program) Put(s *State) {
	s.reset()
	p.pool.Put(s)
}

// Begin prepares the State for a new request of a connection on frontend
// fe. sess may be nil when the connection has no sess.* variables to keep.
func (s *State) Begin(fe *Proxy, sess *Session, in Input) {
	p := s.prog
	s.reset()
	s.prog, s.fe, s.sess = p, fe, sess
	s.In = in
	s.In.Backend, s.In.Server = -1, -1
	n := len(p.varSlots)
	if cap(s.buf.vals) < n {
		s.buf.vals = make([]value, n)
		s.buf.set = make([]bool, n)
	}
	s.vars, s.set = s.buf.vals[:n], s.buf.set[:n]
	clear(s.set)
	if cap(s.buf.memo) < p.memoSlots {
		s.buf.memo = make([]memoEntry, p.memoSlots)
	}
	s.memo = s.buf.memo[:p.memoSlots]
	if cap(s.buf.groups) < p.numGroups {
		s.buf.groups = make([]groupRes, p.numGroups)
	}
	if cap(s.buf.groupBits) < p.groupWords {
		s.buf.groupBits = make([]uint64, p.groupWords)
	}
	s.groups, s.groupBits = s.buf.groups[:p.numGroups], s.buf.groupBits[:p.groupWords]
	s.newRequest()
	if cap(s.buf.auth) < len(p.userlists) {
		s.buf.auth = make([]int, len(p.userlists))
	}
	s.auth = s.buf.auth[:len(p.userlists)]
	clear(s.auth)
}

// reset clears the State keeping only its named buffers.
func (s *State) reset() {
	b := s.buf
	b.arena = b.arena[:0]
	b.fields = b.fields[:0]
	b.orig = b.orig[:0]
	b.parts = b.parts[:0]
	*s = State{buf: b}
}

// Reply is the answer of the last Respond verdict.
func (s *State) Reply() *Reply { return &s.reply }

// alloc returns n bytes of arena space. Earlier slices stay valid: when
// the arena grows, they keep pointing into the old array.
func (s *State) alloc(n int) []byte {
	a := s.buf.arena
	if cap(a)-len(a) < n {
		na := make([]byte, len(a), 2*cap(a)+n+256)
		copy(na, a)
		a = na
	}
	s.buf.arena = a[:len(a)+n]
	return a[len(a) : len(a)+n : len(a)+n]
}

// concat returns a slice of the arena holding the parts one after another.
func (s *State) concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := s.alloc(n)[:0]
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// captureURI records the request-target the first time request rules run.
func (s *State) captureURI() {
	if s.origSet || s.In.Req == nil {
		return
	}
	method, target, _ := s.In.Req.Line()
	s.buf.orig = append(append(s.buf.orig[:0], target...), method...)
	s.origURI, s.origMethod, s.origSet = s.buf.orig[:len(target)], s.buf.orig[len(target):], true
}

func (s *State) getVar(slot int, scope crules.Scope) (value, bool) {
	if s.noStream && scope != crules.ScopeSess {
		return value{}, false
	}
	if scope == crules.ScopeSess {
		if s.sess == nil {
			return value{}, false
		}
		s.sess.mu.Lock()
		defer s.sess.mu.Unlock()
		v, ok := s.sess.vars[slot]
		return v, ok
	}
	if slot >= len(s.vars) || !s.set[slot] {
		return value{}, false
	}
	return s.vars[slot], true
}

func (s *State) setVar(slot int, scope crules.Scope, smp sample) {
	if s.noStream && scope != crules.ScopeSess {
		return
	}
	if scope == crules.ScopeSess {
		if s.sess == nil {
			return
		}
		s.sess.mu.Lock()
		defer s.sess.mu.Unlock()
		if s.sess.vars == nil {
			s.sess.vars = map[int]value{}
		}
		v := s.sess.vars[slot]
		v.store(smp)
		s.sess.vars[slot] = v
		return
	}
	s.vars[slot].store(smp)
	s.set[slot] = true
}

func (s *State) unsetVar(slot int, scope crules.Scope) {
	if s.noStream && scope != crules.ScopeSess {
		return
	}
	if scope == crules.ScopeSess {
		if s.sess != nil {
			s.sess.mu.Lock()
			delete(s.sess.vars, slot)
			s.sess.mu.Unlock()
		}
		return
	}
	s.set[slot] = false
}

// store copies a sample into the variable's own storage.
func (v *value) store(smp sample) {
	v.t, v.i, v.a = smp.t, smp.i, smp.a
	v.b = append(v.b[:0], smp.b...)
}

// pruneReqVars drops req.* variables when the response starts (HAProxy
// keeps req.* for the request only, vars.c).
func (s *State) pruneReqVars() {
	for i, sc := range s.prog.varScopes {
		if sc == crules.ScopeReq && i < len(s.set) {
			s.set[i] = false
		}
	}
}

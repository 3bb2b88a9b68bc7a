package rules

import (
	crules "github.com/tandem-lb/tandem/config/rules"
)

// tri is an ACL result: HAProxy's ACL_TEST_FAIL, ACL_TEST_PASS and
// ACL_TEST_MISS (not known yet: the data may change) (acl.c).
type tri uint8

const (
	triFail tri = iota
	triPass
	triMiss
)

func (t tri) not() tri {
	switch t {
	case triPass:
		return triFail
	case triFail:
		return triPass
	}
	return triMiss
}

// evalCond evaluates a condition (configuration.txt 7.2): suites of terms
// OR-ed, terms AND-ed, with three-valued logic; no condition passes.
func (s *State) evalCond(c *cond) tri {
	if c == nil {
		return triPass
	}
	if c.flat != nil {
		if pass, ok := s.evalFlat(c.flat); ok {
			if pass != c.unless {
				return triPass
			}
			return triFail
		}
	}
	res := triFail
	for _, suite := range c.or {
		sr := triPass
		for i := range suite {
			t := &suite[i]
			var r tri
			if c := t.crit; c != nil {
				r = s.evalCriterion(c)
			} else {
				r = s.evalACL(t.acl)
			}
			if t.neg {
				r = r.not()
			}
			if r == triFail {
				sr = triFail
				break
			}
			if r == triMiss {
				sr = triMiss
			}
		}
		if sr == triPass {
			res = triPass
			break
		}
		if sr == triMiss {
			res = triMiss
		}
	}
	if c.unless {
		res = res.not()
	}
	return res
}

// evalACL: an ACL matches when any of its criteria does.
func (s *State) evalACL(a *acl) tri {
	res := triFail
	for _, c := range a.crits {
		switch s.evalCriterion(c) {
		case triPass:
			return triPass
		case triMiss:
			res = triMiss
		}
	}
	return res
}

// evalCriterion tries every value the fetch gives until one matches.
func (s *State) evalCriterion(c *criterion) tri {
	if c.group != nil {
		return s.groupResult(c)
	}
	if c.foundID >= 0 {
		if t, ok := s.foundResult(c); ok {
			return t
		}
	}
	it := iter{acl: true}
	res := triFail
	var smp sample
	for {
		s.miss = false
		ok := s.eval(c.e, &it, &smp)
		if ok && s.match(c, &smp) {
			return triPass
		}
		if s.miss {
			res = triMiss
		}
		if !it.more {
			return res
		}
	}
}

// match compares a sample with a criterion's patterns.
func (s *State) match(c *criterion, smp *sample) bool {
	switch c.m {
	case crules.MatchFound:
		return true
	case crules.MatchBool:
		return s.cast(smp, crules.TypeInt) && smp.i != 0
	case crules.MatchLen, crules.MatchStr, crules.MatchBeg, crules.MatchEnd, crules.MatchSub,
		crules.MatchDir, crules.MatchDom, crules.MatchReg:
		if !s.cast(smp, crules.TypeStr) {
			return false
		}
	case crules.MatchInt:
		if !s.cast(smp, crules.TypeInt) {
			return false
		}
	case crules.MatchIP:
		if !s.cast(smp, crules.TypeAddr) {
			return false
		}
	case crules.MatchBin:
		if !s.cast(smp, crules.TypeBin) {
			return false
		}
	case crules.MatchMeth:
		if !s.cast(smp, crules.TypeMeth) {
			return false
		}
	}
	for _, x := range c.idx {
		if x.lookup(s, *smp) >= 0 {
			return true
		}
	}
	return false
}

// tcpRules runs tcp-request connection, session or content rules
// (tcp_rules.c tcp_exec_l4_rules, tcp_inspect_request): the first accept
// or reject ends them. A content rule whose condition needs more bytes
// (waitable) stops them with NeedMore; when more bytes come they run again
// from the first rule, as HAProxy does (it resumes in the middle only for
// actions that yield, which tandem has none of), so a set-var above the
// waiting rule sees the new bytes too.
func (s *State) tcpRules(rs []*rule, waitable bool) Verdict {
	for _, r := range rs {
		switch s.evalCond(r.cond) {
		case triMiss:
			if waitable && !s.In.Final {
				return NeedMore
			}
			continue
		case triFail:
			continue
		}
		switch r.act {
		case crules.ActAccept:
			return Accept
		case crules.ActReject:
			return Reject
		default:
			s.doVar(r)
		}
	}
	return Continue
}

// TCPConnection runs a frontend's tcp-request connection rules, when a
// connection is accepted (before TLS).
func (px *Proxy) TCPConnection(s *State) Verdict {
	s.noStream = true
	defer func() { s.noStream = false }()
	return s.tcpRules(px.tcpConnection, false)
}

// TCPSession runs a frontend's tcp-request session rules (after TLS and
// the PROXY header).
func (px *Proxy) TCPSession(s *State) Verdict {
	s.noStream = true
	defer func() { s.noStream = false }()
	return s.tcpRules(px.tcpSession, false)
}

// TCPContent runs tcp-request content rules over s.In.Payload. NeedMore
// asks the core to call again when more bytes arrive, or with In.Final set
// once InspectDelay has passed (or the buffer is full, or the client
// closed); then no rule waits.
func (px *Proxy) TCPContent(s *State) Verdict {
	if px.backend {
		s.be = px
	}
	s.partial = !s.In.Final
	v := s.tcpRules(px.tcpContent, true)
	s.partial = false
	return v
}

// UseBackend runs a frontend's use_backend rules (stream.c
// process_switching_rules): the first rule whose condition holds names the
// backend; a dynamic name that is no backend ends the rules. ok false: use
// default_backend. The core then sets s.In.Backend.
func (px *Proxy) UseBackend(s *State) (backend int, ok bool) {
	for _, r := range px.useBackend {
		if s.evalCond(r.cond) != triPass {
			continue
		}
		if r.format == nil {
			return r.target, true
		}
		name := s.render(r.format)
		if i, found := s.prog.backendByName[string(name)]; found {
			return i, true
		}
		return -1, false
	}
	return -1, false
}

// UseServer runs a backend's use-server rules (backend.c
// process_server_rules): the first rule whose condition holds and whose
// server is up (In.Servers.Up) names the server; a down server lets the
// next rules try. ok false: balance.
func (px *Proxy) UseServer(s *State) (server int, ok bool) {
	for _, r := range px.useServer {
		if s.evalCond(r.cond) != triPass {
			continue
		}
		srv := r.target
		if r.format != nil {
			i, found := px.serverByName[string(s.render(r.format))]
			if !found {
				continue
			}
			srv = i
		}
		if s.In.Servers != nil && s.In.Servers.Up(px.index, srv) {
			return srv, true
		}
	}
	return -1, false
}

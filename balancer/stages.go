package balancer

import (
	"github.com/tandem-lb/tandem/balancer/rules"
)

// requestRules is the rules stage of a request (DESIGN.md's request
// path, in HAProxy's order): the frontend's http-request rules and
// redirects, the backend (use_backend, else default_backend), the
// backend's http-request rules, and use-server. It reports false when the
// rules answered (or rejected) the request: the caller then stops, and
// ex.keep says whether the connection may serve another request.
func (b *Balancer) requestRules(ex *exchange) bool {
	snap := ex.snap
	if !ex.fe.rulesOn {
		ex.be = ex.fe.backend
		ex.be.rt.stats.requests.Add(1)
		return true
	}
	rs := snap.rules.Get()
	ex.rs = rs
	rs.Begin(ex.fe.rules, ex.cc.ruleSession(), rules.Input{Conn: ex.cc, Req: reqView{ex}, Servers: snap,
		Payload: ex.bufs.reqRaw, Final: true})
	// In mode http, tcp-request content rules run at each request, on
	// its head (HAProxy waits for a whole request there too).
	if ex.fe.rules.HasTCPContent() && !b.ruleVerdict(ex, ex.fe.rules.TCPContent(rs)) {
		return false
	}
	if !b.ruleVerdict(ex, ex.fe.rules.HTTPRequest(rs, reqView{ex})) {
		return false
	}
	be := ex.fe.backend
	if i, ok := ex.fe.rules.UseBackend(rs); ok {
		be = snap.beList[i]
	}
	if be == nil {
		// No use_backend rule matched and there is no default_backend:
		// HAProxy answers 503.
		ex.term = "PR"
		b.reply(ex, http503, "no backend for this request")
		ex.keep = false
		return false
	}
	ex.be = be
	be.rt.stats.requests.Add(1)
	rs.In.Backend = be.index
	if be.rules.HasTCPContent() && !b.ruleVerdict(ex, be.rules.TCPContent(rs)) {
		return false
	}
	if !b.ruleVerdict(ex, be.rules.HTTPRequest(rs, reqView{ex})) {
		return false
	}
	if i, ok := be.rules.UseServer(rs); ok {
		ex.forced = be.all[i]
	}
	return true
}

// ruleVerdict acts on a rules verdict; false: the request ends here.
func (b *Balancer) ruleVerdict(ex *exchange, v rules.Verdict) bool {
	switch v {
	case rules.Reject:
		ex.term, ex.keep = "PR", false // closed without an answer
		return false
	case rules.Respond:
		ex.term = "PR"
		b.replyRules(ex, ex.rs.Reply())
		return false
	}
	return true
}

// ruleSession is the connection's sess.* variables, made on first use.
func (c *clientConn) ruleSession() *rules.Session {
	if c.sess == nil {
		c.sess = rules.NewSession()
	}
	return c.sess
}

package balancer

import (
	"net"
	"time"

	"github.com/tandem-lb/tandem/balancer/rules"
)

// tcpSession is one TCP-mode connection's choice of server, with what the
// access log reports.
type tcpSession struct {
	fe     *frontend
	be     *backend
	a      attempt
	s      *server // chosen (or last tried)
	forced *server // named by use-server
	up     net.Conn
	tConn  time.Time
}

// serveTCP proxies one TCP-mode connection, stage by stage: the
// tcp-request content rules over the first bytes (waiting up to
// inspect-delay), the backend (use_backend … default_backend), the
// backend's content rules and use-server; then a server (with the retries
// and redispatch HTTP has), and a copy both ways.
func (b *Balancer) serveTCP(cc *clientConn, fe *frontend, snap *snapshot) {
	if !cc.beginRequest() {
		return
	}
	defer cc.endRequest()
	ts := &tcpSession{fe: fe, be: fe.backend}
	fe.rt.stats.requests.Add(1)
	var payload []byte
	if fe.rulesOn {
		var ok bool
		if payload, ok = b.tcpRules(cc, ts, snap); !ok {
			b.logTCP(cc, ts, "PR", 0, 0)
			return
		}
	}
	if ts.be == nil {
		b.logTCP(cc, ts, "PR", 0, 0) // no use_backend matched, no default_backend
		return
	}
	ts.be.rt.stats.requests.Add(1)
	now := time.Now().UnixNano()
	if !b.dialTCP(cc, ts, now) {
		b.logTCP(cc, ts, "SC", 0, 0)
		return
	}
	if len(payload) > 0 {
		// What the rules inspected goes first.
		if _, err := ts.up.Write(payload); err != nil {
			ts.up.Close()
			ts.s.release()
			b.logTCP(cc, ts, "SD", 0, 0)
			return
		}
	}
	s, be := ts.s, ts.be
	s.connOK()
	stick(be, cc, &ts.a, s, now)
	s.stats.requests.Add(1)
	s.stats.curConns.Add(1)
	s.stats.totalConns.Add(1)
	in, out, err := tunnel(cc.conn, ts.up, be.tm.tunnel)
	ts.up.Close()
	s.stats.curConns.Add(-1)
	s.stats.bytesIn.Add(uint64(in))
	s.stats.bytesOut.Add(uint64(out))
	be.rt.stats.bytesIn.Add(uint64(in))
	be.rt.stats.bytesOut.Add(uint64(out))
	ts.fe.rt.stats.bytesIn.Add(uint64(in))
	ts.fe.rt.stats.bytesOut.Add(uint64(out))
	s.release()
	b.logTCP(cc, ts, tunnelTerm(err), in, out)
}

// dialTCP chooses a server and connects to it (connectServer); on success
// ts.s holds one of its maxconn slots and ts.up is connected.
func (b *Balancer) dialTCP(cc *clientConn, ts *tcpSession, now int64) bool {
	ts.a.cc = cc
	if ts.be.rules.HasServerSNI() {
		// A server's sni expression reads the connection (ssl_fc_sni).
		snap := b.cur.Load()
		rs := snap.rules.Get()
		defer snap.rules.Put(rs)
		rs.Begin(ts.fe.rules, cc.ruleSession(), rules.Input{Conn: cc, Servers: snap})
		rs.In.Backend = ts.be.index
		ts.a.rs, ts.a.rp = rs, ts.be.rules
		defer func() { ts.a.rs, ts.a.rp = nil, nil }()
	}
	ts.a.p.reset(ts.be, balanceKey(ts.be, cc, nil))
	ts.a.p.sticky = stickyServer(ts.be, cc, now)
	if ts.forced != nil {
		ts.a.p.sticky = ts.forced
	}
	for {
		s, u, err := b.connectServer(b.runCtx, &ts.a, ts.be, false, true)
		ts.s = s
		if err == errNoServer {
			// A config swap may have removed every server of the backend
			// this connection started with: use the current one.
			// A backend a rule chose (use_backend) stays.
			if nf := b.cur.Load().byAddr[cc.l.key]; nf != nil && nf.backend != ts.be && nf.mode == ts.fe.mode && ts.be == ts.fe.backend {
				ts.fe, ts.be = nf, nf.backend
				ts.a.p.reset(ts.be, balanceKey(ts.be, cc, nil))
				continue
			}
		}
		if err != nil {
			b.log.Debug("no server for TCP connection", "frontend", ts.fe.name, "backend", ts.be.name, "err", err)
			return false
		}
		ts.up, ts.tConn = u.tc.Conn, time.Now()
		cc.up.Store(u) // forceClose (drain, shutdown-sessions) closes it too
		return true
	}
}

// tcpRules runs the content-switching rules of a TCP connection. It
// returns the bytes read while the rules inspected them (to send to the
// server first), and false when the rules rejected the connection (or the
// client left meanwhile).
func (b *Balancer) tcpRules(cc *clientConn, ts *tcpSession, snap *snapshot) ([]byte, bool) {
	rs := snap.rules.Get()
	defer snap.rules.Put(rs)
	rs.Begin(ts.fe.rules, cc.ruleSession(), rules.Input{Conn: cc, Servers: snap})
	payload, v := b.inspect(cc, rs, ts.fe.rules, nil)
	if v == rules.Reject {
		return nil, false
	}
	if i, ok := ts.fe.rules.UseBackend(rs); ok {
		ts.be = snap.beList[i]
	}
	if ts.be == nil {
		return payload, true
	}
	rs.In.Backend = ts.be.index
	if payload, v = b.inspect(cc, rs, ts.be.rules, payload); v == rules.Reject {
		return nil, false
	}
	if i, ok := ts.be.rules.UseServer(rs); ok {
		ts.forced = ts.be.all[i]
	}
	return payload, true
}

// maxInspect bounds what tcp-request content rules may buffer (HAProxy's
// tune.bufsize).
const maxInspect = 16 << 10

// inspect runs a section's tcp-request content rules over the client's
// first bytes, reading more while a rule needs more and inspect-delay
// (the frontend's) has not passed.
func (b *Balancer) inspect(cc *clientConn, rs *rules.State, px *rules.Proxy, payload []byte) ([]byte, rules.Verdict) {
	if !px.HasTCPContent() {
		return payload, rules.Continue
	}
	delay := px.InspectDelay()
	until := time.Now().Add(delay)
	defer cc.conn.SetReadDeadline(time.Time{})
	for {
		rs.In.Payload = payload
		rs.In.Final = delay <= 0 || len(payload) >= maxInspect || !time.Now().Before(until)
		v := px.TCPContent(rs)
		if v != rules.NeedMore {
			return payload, v
		}
		if cap(payload) < maxInspect {
			payload = append(make([]byte, 0, maxInspect), payload...)
		}
		cc.conn.SetReadDeadline(until)
		n, err := cc.conn.Read(payload[len(payload):cap(payload)])
		payload = payload[:len(payload)+n]
		if err != nil && !isTimeout(err) {
			return payload, rules.Reject // the client went away
		}
		if err != nil {
			until = time.Now() // the delay passed: decide on what came
		}
	}
}

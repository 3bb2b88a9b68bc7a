package balancer

import (
	"net"
	"time"
)

// tcpSession is one TCP-mode connection's choice of server, with what the
// access log reports.
type tcpSession struct {
	fe    *frontend
	be    *backend
	a     attempt
	s     *server // chosen (or last tried)
	up    net.Conn
	tConn time.Time
}

// serveTCP proxies one TCP-mode connection: choose a server (with the
// retries and redispatch HTTP has), then copy both ways.
func (b *Balancer) serveTCP(cc *clientConn, fe *frontend) {
	if !cc.beginRequest() {
		return
	}
	defer cc.endRequest()
	ts := &tcpSession{fe: fe, be: fe.backend}
	fe.rt.stats.requests.Add(1)
	ts.be.rt.stats.requests.Add(1)
	now := time.Now().UnixNano()
	if !b.dialTCP(cc, ts, now) {
		b.logTCP(cc, ts, "SC", 0, 0)
		return
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
	ts.a.p.reset(ts.be, balanceKey(ts.be, cc, nil))
	ts.a.p.sticky = stickyServer(ts.be, cc, now)
	for {
		s, u, err := b.connectServer(b.runCtx, &ts.a, ts.be, false, true)
		ts.s = s
		if err == errNoServer {
			// A config swap may have removed every server of the backend
			// this connection started with: use the current one.
			if nf := b.cur.Load().byAddr[cc.l.key]; nf != nil && nf.backend != ts.be && nf.mode == ts.fe.mode {
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

package balancer

import (
	"net"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// tcpSession is one TCP-mode connection's choice of server, with what the
// access log reports.
type tcpSession struct {
	fe      *frontend
	be      *backend
	p       pickState
	key     uint64
	s       *server // chosen (or last tried)
	up      net.Conn
	retries int
	tPicked time.Time
	tConn   time.Time
}

// serveTCP proxies one TCP-mode connection: pick a server (with retries
// and redispatch on connect failures), then copy both ways.
func (b *Balancer) serveTCP(cc *clientConn, fe *frontend) {
	if !cc.beginRequest() {
		return
	}
	defer cc.endRequest()
	ts := &tcpSession{fe: fe, be: fe.backend}
	fe.rt.stats.requests.Add(1)
	ts.be.rt.stats.requests.Add(1)
	if ts.be.algo == config.AlgoSource {
		ts.key = cc.sourceHash()
	}
	ts.p.reset(ts.be, ts.key)
	now := time.Now().UnixNano()
	if ts.be.stickSource && cc.remote.IsValid() {
		if name := ts.be.rt.stick.lookup(cc.remote, now); name != "" {
			ts.p.sticky = ts.be.byName[name]
		}
	}
	if !b.dialTCP(cc, ts) {
		b.logTCP(cc, ts, "SC", 0, 0)
		return
	}
	s, be := ts.s, ts.be
	s.connOK()
	if be.stickSource && cc.remote.IsValid() && ts.p.sticky != s {
		be.rt.stick.store(cc.remote, s.key.Server, now)
	}
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

// dialTCP picks a server and connects to it, retrying as configured; on
// success ts.s holds one of its maxconn slots and ts.up is connected.
func (b *Balancer) dialTCP(cc *clientConn, ts *tcpSession) bool {
	for attempt := 0; ; {
		s, err := b.pick(b.runCtx, &ts.p)
		if err == errNoServer {
			// A config swap may have removed every server of the backend
			// this connection started with: use the current one.
			if nf := b.cur.Load().byAddr[cc.l.key]; nf != nil && nf.backend != ts.be && nf.mode == config.ModeTCP {
				ts.fe, ts.be = nf, nf.backend
				ts.p.reset(ts.be, ts.key)
				continue
			}
		}
		if err != nil {
			b.log.Debug("no server for TCP connection", "frontend", ts.fe.name, "backend", ts.be.name, "err", err)
			return false
		}
		be := ts.be
		ts.s, ts.tPicked = s, time.Now()
		d := net.Dialer{Timeout: be.tm.connect}
		if ts.up, err = d.DialContext(b.runCtx, "tcp", s.addr); err == nil {
			ts.tConn = time.Now()
			return true
		}
		s.stats.connectErrors.Add(1)
		be.rt.stats.connectErrors.Add(1)
		b.connFailed(s, err)
		s.release()
		if attempt >= be.retries {
			return false
		}
		attempt++
		ts.retries++
		s.stats.retries.Add(1)
		be.rt.stats.retries.Add(1)
		if be.redispatch {
			ts.p.avoid(s)
			s.stats.redispatches.Add(1)
			be.rt.stats.redispatches.Add(1)
		}
	}
}

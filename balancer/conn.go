package balancer

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// clientConn is one accepted client connection.
type clientConn struct {
	b        *Balancer
	raw      net.Conn // as accepted
	conn     net.Conn // raw, or the *tls.Conn over it
	l        *listener
	lim      *limiter
	rt       *frontendRT // counted in curConns while open
	accepted time.Time
	remote   netip.Addr
	port     uint16 // client port, for the access log
	remoteS  string // remote IP as text, for X-Forwarded-For
	proto    string // "http" or "https", for X-Forwarded-Proto
	ipHash   uint64
	local    netip.AddrPort // the address the client connected to (computed once)
	tlsInfo  rules.TLSInfo  // after the handshake
	sess     *rules.Session // the sess.* variables of the rules; nil until used
	pp       *proxyInfo     // what an accepted PROXY header brought; nil: none

	idle idleWaiter // waits for the next request without a buffer
	// pipelines: the client sent a request before the answer to the last
	// one, so its responses are not held for the wait (sendTail).
	pipelines bool
	// park is set while the connection is parked (parker): no goroutine
	// serves it then.
	park     atomic.Pointer[parked]
	finished atomic.Bool

	// up is the server connection of the HTTP/1 request in progress, closed
	// by forceClose so a request blocked on its server ends too.
	up atomic.Pointer[upConn]

	// state is the number of requests in progress, or -1 once closed by
	// the drain; an HTTP connection waiting for its next request is at 0.
	state atomic.Int32
}

func (b *Balancer) newClientConn(conn net.Conn, l *listener, lim *limiter) *clientConn {
	cc := &clientConn{b: b, raw: conn, conn: conn, l: l, lim: lim, accepted: time.Now(), proto: "http"}
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			cc.remote, cc.port = ap.Addr().Unmap(), ap.Port()
		}
	}
	b.conns.add(cc)
	return cc
}

// beginRequest marks the connection busy; false if the drain closed it.
func (c *clientConn) beginRequest() bool {
	for {
		s := c.state.Load()
		if s < 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (c *clientConn) endRequest() { c.state.Add(-1) }

func (c *clientConn) closeIfIdle() {
	if c.state.CompareAndSwap(0, -1) {
		c.closeParkedOr()
	}
}

func (c *clientConn) forceClose() {
	c.state.Store(-1)
	c.closeParkedOr()
	if u := c.up.Load(); u != nil {
		u.close()
	}
}

// closeParkedOr ends a parked connection (no goroutine would notice its
// close), or closes the socket of one that a goroutine serves.
func (c *clientConn) closeParkedOr() {
	if e := c.park.Load(); e != nil {
		if p := c.b.park.Load(); p != nil {
			p.evict(e)
			return
		}
	}
	c.raw.Close()
}

// finish releases what the connection holds, once, by whoever ends it:
// its goroutine, or the parker.
func (c *clientConn) finish() {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	c.raw.Close()
	c.b.conns.remove(c)
	c.lim.release()
	c.b.global.release()
	if c.rt != nil {
		c.rt.stats.curConns.Add(-1)
	}
}

// remoteIP returns the client address as text (computed once).
func (c *clientConn) remoteIP() string {
	if c.remoteS == "" && c.remote.IsValid() {
		c.remoteS = c.remote.String()
	}
	return c.remoteS
}

// sourceHash is the balancing key of the client IP (computed once).
func (c *clientConn) sourceHash() uint64 {
	if c.ipHash == 0 {
		a := c.remote.As16()
		c.ipHash = hashKey(a[:]) | 1
	}
	return c.ipHash
}

// hashKey is FNV-1a with a final avalanche. It is the same on every node
// and every run, so all LB nodes (and a node after a restart or a VIP
// move) send a client IP or URI to the same server.
func hashKey(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// serveConn owns one client connection until it is done.
func (b *Balancer) serveConn(cc *clientConn) {
	defer b.wg.Done()
	snap := b.cur.Load()
	fe := snap.byAddr[cc.l.key]
	parked := false
	defer func() {
		if !parked {
			cc.finish()
		}
	}()
	if fe == nil || b.runCtx.Err() != nil {
		return
	}
	cc.rt = fe.rt
	fe.rt.stats.curConns.Add(1)
	fe.rt.stats.totalConns.Add(1)
	if !b.connectionRules(cc, fe, snap, false) {
		return
	}
	if fe.acceptProxy != nil && !b.readProxyHeader(cc, fe) {
		return
	}
	if fe.tls != nil {
		tc := tls.Server(withRawIO(cc.raw), fe.tls.conf)
		hs := fe.tm.httpRequest
		if fe.mode == config.ModeTCP || hs <= 0 {
			hs = fe.tm.client
		}
		ctx, cancel := context.WithTimeout(b.runCtx, nonZero(hs, time.Minute))
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			b.log.Debug("TLS handshake failed", "frontend", fe.name, "err", err)
			return
		}
		cc.conn, cc.proto = tc, "https"
		cc.setTLS(tc.ConnectionState())
	}
	if !b.connectionRules(cc, fe, snap, true) {
		return
	}
	if fe.mode == config.ModeHTTP && cc.tlsInfo.ALPN == "h2" {
		b.serveH2(cc, fe, cc.conn)
		return
	}
	if fe.mode == config.ModeTCP {
		b.serveTCP(cc, fe, snap)
		return
	}
	parked = b.serveHTTP(cc, true)
}

// connectionRules runs a frontend's tcp-request connection rules (at
// accept, before TLS) or session rules (after the handshake); false: the
// connection is rejected and closes without a word.
func (b *Balancer) connectionRules(cc *clientConn, fe *frontend, snap *snapshot, session bool) bool {
	if !fe.rules.HTTPActive() {
		return true
	}
	rs := snap.rules.Get()
	defer snap.rules.Put(rs)
	rs.Begin(fe.rules, cc.ruleSession(), rules.Input{Conn: cc, Servers: snap})
	v := fe.rules.TCPConnection(rs)
	if session {
		v = fe.rules.TCPSession(rs)
	}
	return v != rules.Reject
}

// resumeHTTP serves a parked connection that became readable.
func (b *Balancer) resumeHTTP(cc *clientConn) {
	defer b.wg.Done()
	if !b.serveHTTP(cc, false) {
		cc.finish()
	}
}

func nonZero(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

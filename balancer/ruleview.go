package balancer

import (
	"crypto/tls"
	"net"
	"net/netip"

	"github.com/tandem-lb/tandem/balancer/http1"
	"github.com/tandem-lb/tandem/balancer/rules"
)

// The views and editors the rules engine (balancer/rules) evaluates: the
// request head, the response as it goes to the client, the connection and
// the servers' state. Each is a one-pointer value, so handing it over as
// an interface allocates nothing.

// reqView is the request head (rules.Request, rules.RequestEditor).
type reqView struct{ ex *exchange }

func (v reqView) NumFields() int { return len(v.ex.req.Fields) }
func (v reqView) Field(i int) ([]byte, []byte) {
	f := &v.ex.req.Fields[i]
	return f.Name, f.Value
}

func (v reqView) Line() (method, target, version []byte) {
	r := v.ex.req
	version = protoHTTP11
	if v.ex.h2 {
		version = protoHTTP2
	} else if r.Version == http1.HTTP10 {
		version = protoHTTP10
	}
	return r.Method, r.Target, version
}

func (v reqView) AddField(name, value []byte) {
	v.ex.req.Fields = append(v.ex.req.Fields, http1.Field{Name: v.ex.own(name), Value: v.ex.own(value)})
}

func (v reqView) SetField(i int, value []byte) { v.ex.req.Fields[i].Value = v.ex.own(value) }

func (v reqView) DelField(i int) {
	f := v.ex.req.Fields
	v.ex.req.Fields = append(f[:i], f[i+1:]...)
}

func (v reqView) SetLine(method, target []byte) {
	if method != nil {
		v.ex.req.Method = v.ex.own(method)
		v.ex.idempotent = isIdempotent(v.ex.req.Method)
	}
	if target != nil {
		v.ex.req.Target = v.ex.own(target)
	}
}

// respView is the response as the client will get it: status and the
// fields in ex.bufs.out (rules.Response, rules.ResponseEditor).
type respView struct{ ex *exchange }

func (v respView) NumFields() int { return len(v.ex.bufs.out) }
func (v respView) Field(i int) ([]byte, []byte) {
	f := &v.ex.bufs.out[i]
	return f.Name, f.Value
}
func (v respView) Status() int { return v.ex.code }

func (v respView) AddField(name, value []byte) {
	v.ex.bufs.out = append(v.ex.bufs.out, http1.Field{Name: v.ex.own(name), Value: v.ex.own(value)})
}

func (v respView) SetField(i int, value []byte) { v.ex.bufs.out[i].Value = v.ex.own(value) }

func (v respView) DelField(i int) {
	f := v.ex.bufs.out
	v.ex.bufs.out = append(f[:i], f[i+1:]...)
}

func (v respView) SetStatus(code int, reason []byte) {
	v.ex.code = code
	v.ex.reason = v.ex.own(reason)
	if reason == nil {
		v.ex.reason = []byte(statusText(code))
	}
}

// own copies b into the exchange's edit arena, valid until the exchange
// is reset. When the arena grows, earlier copies keep their old array.
func (ex *exchange) own(b []byte) []byte {
	if b == nil {
		return nil
	}
	a := ex.bufs.edit
	if cap(a)-len(a) < len(b) {
		a = make([]byte, 0, 2*cap(a)+len(b)+256)
	}
	start := len(a)
	a = append(a, b...)
	ex.bufs.edit = a
	return a[start:len(a):len(a)]
}

// Addrs is the client's address and the address it connected to
// (rules.Conn).
func (c *clientConn) Addrs() (src, dst netip.AddrPort) {
	if !c.local.IsValid() {
		if ta, ok := c.raw.LocalAddr().(*net.TCPAddr); ok {
			ap := ta.AddrPort()
			c.local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	return netip.AddrPortFrom(c.remote, c.port), c.local
}

// TLS is the terminated TLS session's facts (rules.Conn).
func (c *clientConn) TLS() (rules.TLSInfo, bool) { return c.tlsInfo, c.tlsInfo.Version != "" }

// setTLS records the facts of a completed handshake.
func (c *clientConn) setTLS(cs tls.ConnectionState) {
	c.tlsInfo = rules.TLSInfo{SNI: cs.ServerName, ALPN: cs.NegotiatedProtocol, Version: tlsVersionName(cs.Version),
		Cipher: cs.CipherSuite, Resumed: cs.DidResume}
	if len(cs.PeerCertificates) > 0 {
		c.tlsInfo.Peer = cs.PeerCertificates[0]
	}
}

// Usable is HAProxy's nbsrv: the servers of a backend that may take new
// traffic, the backups only when no normal one can (rules.Servers).
func (s *snapshot) Usable(backend int) int {
	if backend < 0 || backend >= len(s.beList) {
		return 0
	}
	be := s.beList[backend]
	n := 0
	for _, srv := range be.normal.servers {
		if srv.routable() {
			n++
		}
	}
	if n == 0 {
		for _, srv := range be.backup.servers {
			if srv.routable() {
				n++
			}
		}
	}
	return n
}

// Up is HAProxy's srv_is_up for use-server: the server may take
// traffic meant for it (draining included, maint and down not).
func (s *snapshot) Up(backend, server int) bool {
	if backend < 0 || backend >= len(s.beList) {
		return false
	}
	be := s.beList[backend]
	return server >= 0 && server < len(be.all) && be.all[server].stickyOK()
}

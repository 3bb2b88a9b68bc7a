package balancer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tandem-lb/tandem/balancer/proxyproto"
	"github.com/tandem-lb/tandem/config"
)

// The PROXY protocol in the request path: accept-proxy reads the header a
// load balancer in front sends, right after accept and before TLS (stage
// 2 of DESIGN.md's request path), and from then on the header's source is
// the client everywhere (cc.remote/cc.port: src, X-Forwarded-For, the
// access log, balance source, stick tables). send-proxy writes a header
// naming that client on each new server connection, which is then private
// to it (never pooled for another client).

// acceptProxy is a frontend's accept-proxy: the peers allowed to connect.
type acceptProxy struct {
	trusted []netip.Prefix // empty: any peer, which must send a header
}

func newAcceptProxy(a *config.AcceptProxy) (*acceptProxy, error) {
	if a == nil {
		return nil, nil
	}
	p, err := a.TrustedPrefixes()
	if err != nil {
		return nil, err
	}
	return &acceptProxy{trusted: p}, nil
}

func (a *acceptProxy) trusts(ip netip.Addr) bool {
	if len(a.trusted) == 0 {
		return true
	}
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// proxyInfo is what a received header brought beyond the addresses.
type proxyInfo struct {
	alpn      []byte
	authority []byte
}

// readProxyHeader runs accept-proxy on a new connection: a peer that is not
// trusted, or a connection without a valid header within the handshake
// timeout, is closed, counted (ProxyErrors) and logged. A LOCAL/UNKNOWN
// header (the proxy's own health check) keeps the peer's address.
func (b *Balancer) readProxyHeader(cc *clientConn, fe *frontend) bool {
	if !fe.acceptProxy.trusts(cc.remote) {
		fe.rt.stats.proxyErrors.Add(1)
		b.log.Info("PROXY protocol: connection from an untrusted peer closed", "frontend", fe.name, "client", cc.remote.String())
		return false
	}
	timeout := nonZero(fe.tm.client, time.Minute)
	if err := cc.raw.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return false
	}
	h, err := readHeader(cc.raw)
	if err == nil {
		err = cc.raw.SetReadDeadline(time.Time{})
	}
	if err != nil {
		fe.rt.stats.proxyErrors.Add(1)
		b.log.Info("PROXY protocol: connection closed", "frontend", fe.name, "client", cc.remote.String(), "err", err)
		return false
	}
	if !h.Local {
		cc.remote, cc.port = h.Src.Addr().Unmap(), h.Src.Port()
		cc.local = netip.AddrPortFrom(h.Dst.Addr().Unmap(), h.Dst.Port()) // dst in rules, as HAProxy takes it from the header
		cc.pp = &proxyInfo{alpn: h.TLV(proxyproto.TypeALPN), authority: h.TLV(proxyproto.TypeAuthority)}
	}
	return true
}

// readHeader reads exactly one PROXY header from c and nothing after it:
// what follows must stay in the socket for TLS, the HTTP parser and the
// balancer's raw idle reads. It peeks (MSG_PEEK) at what has arrived and
// consumes only the header's bytes.
func readHeader(c net.Conn) (proxyproto.Header, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return proxyproto.Header{}, errors.New("PROXY protocol: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return proxyproto.Header{}, err
	}
	buf := make([]byte, 512)
	for {
		var n int
		var perr error
		rerr := rc.Read(func(fd uintptr) bool {
			n, _, perr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
			return perr != unix.EAGAIN
		})
		switch {
		case rerr != nil:
			return proxyproto.Header{}, fmt.Errorf("read PROXY header: %w", rerr)
		case perr != nil:
			return proxyproto.Header{}, fmt.Errorf("read PROXY header: %w", perr)
		case n == 0:
			return proxyproto.Header{}, errors.New("read PROXY header: connection closed before a header")
		}
		h, hn, err := proxyproto.Parse(buf[:n])
		switch {
		case err == nil:
			if _, err := io.ReadFull(c, buf[:hn]); err != nil {
				return proxyproto.Header{}, fmt.Errorf("read PROXY header: %w", err)
			}
			return h, nil
		case !errors.Is(err, proxyproto.ErrNeedMore):
			return proxyproto.Header{}, err
		case n == len(buf) && len(buf) < proxyproto.MaxV2Len:
			buf = make([]byte, min(2*len(buf), proxyproto.MaxV2Len))
			continue
		case n == len(buf):
			return proxyproto.Header{}, errors.New("read PROXY header: too long")
		}
		// Part of a header: wait for more to arrive. The poller is edge
		// triggered, so the next peek follows new data.
		if err := waitReadable(rc); err != nil {
			return proxyproto.Header{}, fmt.Errorf("read PROXY header: %w", err)
		}
	}
}

// waitReadable blocks until new data arrives (or the deadline passes).
func waitReadable(rc syscall.RawConn) error {
	first := true
	return rc.Read(func(uintptr) bool {
		if first {
			first = false
			return false
		}
		return true
	})
}

// serverOpts are a server's options the data plane reads per connection.
type serverOpts struct {
	sendProxy           config.ProxyVersion
	authority, crc32c   bool
	backup              bool
	shutdownOnDown      bool
	shutdownBackupsOnUp bool
	// observe reports live traffic's verdicts (observe layer4|layer7);
	// nil without observe.
	observe func(ok bool, what string)
	layer7  bool
	// tls: TLS to the server (servertls.go); nil: clear text.
	tls *serverTLS
	// index is the server's position in its backend's config.
	index int
	// proto is the server's config proto: "h2" speaks HTTP/2 to it.
	proto string
}

func (b *Balancer) serverOptsOf(key config.ServerKey, cs *config.Server) *serverOpts {
	o := &serverOpts{
		sendProxy: cs.SendProxy, authority: cs.ProxyV2Authority, crc32c: cs.ProxyV2CRC32C, backup: cs.Backup,
		shutdownOnDown: cs.ShutdownOnDown, shutdownBackupsOnUp: cs.ShutdownBackupsOnUp,
	}
	if obs := cs.Observe; obs != nil && b.onResult != nil {
		o.observe = func(ok bool, what string) { b.onResult(key, ok, what) }
		o.layer7 = obs.Layer == config.ObserveLayer7
	}
	return o
}

// proxyHeader is the header a new connection to s carries for client cc:
// the client's address and the one it connected to; ALPN when the client
// negotiated one (over TLS here, or as the header tandem received said);
// the SNI (or received authority) with proxy_v2_authority.
func proxyHeader(o *serverOpts, cc *clientConn) []byte {
	var h proxyproto.Header
	if cc == nil || !cc.remote.IsValid() {
		h.Local = true
	} else {
		h.Src = netip.AddrPortFrom(cc.remote, cc.port)
		h.Dst = cc.localAddr()
		var alpn, authority []byte
		if cc.pp != nil {
			alpn, authority = cc.pp.alpn, cc.pp.authority
		}
		if tc, ok := cc.conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			if st.NegotiatedProtocol != "" {
				alpn = []byte(st.NegotiatedProtocol)
			}
			if st.ServerName != "" {
				authority = []byte(st.ServerName)
			}
		}
		if len(alpn) > 0 {
			h.TLVs = append(h.TLVs, proxyproto.TLV{Type: proxyproto.TypeALPN, Value: alpn})
		}
		if o.authority && len(authority) > 0 {
			h.TLVs = append(h.TLVs, proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: authority})
		}
	}
	if o.sendProxy == config.ProxyV2 {
		return h.AppendV2(nil, o.crc32c)
	}
	return h.AppendV1(nil)
}

// localAddr is the address the client connected to: the proxy's, when a
// PROXY header said so, else this listener's.
func (c *clientConn) localAddr() netip.AddrPort {
	_, dst := c.Addrs()
	return dst
}

// sendProxyHeader writes the PROXY header on a new server connection,
// when s sends one, and marks the connection private to its client.
func sendProxyHeader(u *upConn, s *server, cc *clientConn, timeout time.Duration) error {
	o := s.opts.Load()
	if o == nil || o.sendProxy == config.ProxyNone {
		return nil
	}
	u.private = true
	if timeout > 0 {
		_ = u.tc.Conn.SetWriteDeadline(time.Now().Add(timeout))
		defer u.tc.Conn.SetWriteDeadline(time.Time{})
	}
	if _, err := u.tc.Conn.Write(proxyHeader(o, cc)); err != nil {
		return fmt.Errorf("send PROXY header: %w", err)
	}
	return nil
}

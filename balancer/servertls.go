package balancer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// serverTLS is the TLS side of the connections to one server (config
// ServerTLS). It outlives config versions that do not change it, so its
// pooled connections and session cache stay; its client certificate is
// swapped in place when the store renews it.
type serverTLS struct {
	cfg      config.ServerTLS // as configured
	ca, crl  string           // the contents of its CA and CRL files
	conf     *tls.Config      // no ServerName: set per connection
	certName string
	cert     atomic.Pointer[tls.Certificate]
	sni      sniSource
	h2       bool // offers h2 by ALPN

	sessions sessionCache // resumption, forgotten when the client certificate changes

	mu     sync.Mutex
	byName map[string]*tls.Config // conf with a ServerName, for a few names
}

// setCert presents c from now on; sessions resumed with the previous
// certificate are forgotten, or the server would keep seeing it.
func (st *serverTLS) setCert(c *tls.Certificate) {
	if st.cert.Swap(c) != c {
		st.sessions.reset()
	}
}

// sessionCache is a client session cache that can be emptied while in use.
type sessionCache struct {
	cur atomic.Pointer[tls.ClientSessionCache]
}

func (c *sessionCache) reset() {
	lru := tls.NewLRUClientSessionCache(64)
	c.cur.Store(&lru)
}

func (c *sessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	if p := c.cur.Load(); p != nil {
		return (*p).Get(key)
	}
	return nil, false
}

func (c *sessionCache) Put(key string, cs *tls.ClientSessionState) {
	if p := c.cur.Load(); p != nil {
		(*p).Put(key, cs)
	}
}

// maxNamedConfs bounds the per-name configs a server keeps (SNI from a
// request header may take many values; beyond, each dial clones).
const maxNamedConfs = 64

// newServerTLS builds the TLS of server cs of cluster c, reusing old when
// nothing it was built from changed.
func newServerTLS(cs *config.Server, c *config.Cluster, certs map[string]*tls.Certificate, old *serverTLS) (*serverTLS, error) {
	t := cs.TLS
	ca, crl := c.Files[t.CA], c.Files[t.CRL]
	cert, err := clientCertificate(t.Certificate, certs)
	if err != nil {
		return nil, err
	}
	if old != nil && reflect.DeepEqual(old.cfg, *t) && old.ca == ca && old.crl == crl {
		old.setCert(cert)
		return old, nil
	}
	sni, err := parseSNI(t.SNI)
	if err != nil {
		return nil, err
	}
	conf, err := t.ClientConfig(c.Files, nil)
	if err != nil {
		return nil, err
	}
	st := &serverTLS{cfg: *t, ca: ca, crl: crl, conf: conf, certName: t.Certificate, sni: sni, byName: map[string]*tls.Config{}}
	st.cert.Store(cert)
	if conf.ClientSessionCache != nil {
		conf.ClientSessionCache = &st.sessions
		st.sessions.reset()
	}
	if t.Certificate != "" {
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return st.cert.Load(), nil }
	}
	for _, p := range t.ALPN {
		st.h2 = st.h2 || p == "h2"
	}
	return st, nil
}

// clientCertificate is the certificate a server connection presents: the
// store's by name, or a PEM file on this node; nil for none.
func clientCertificate(name string, certs map[string]*tls.Certificate) (*tls.Certificate, error) {
	switch {
	case name == "":
		return nil, nil
	case strings.Contains(name, "/"):
		return loadCertFile(name, "")
	}
	if c := certs[name]; c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("client certificate %q is not in the store (tandem cert add %s --cert FILE --key FILE)", name, name)
}

// confFor is the config of a connection that sends name as its SNI.
func (st *serverTLS) confFor(name string) *tls.Config {
	if name == "" {
		return st.conf
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if c := st.byName[name]; c != nil {
		return c
	}
	c := st.conf.Clone()
	c.ServerName = name
	if len(st.byName) < maxNamedConfs {
		st.byName[name] = c
	}
	return c
}

// handshake runs TLS over u's new connection within the connect timeout
// (HAProxy counts the handshake in it), sending name as SNI.
func (u *upConn) handshake(ctx context.Context, st *serverTLS, name string, timeout time.Duration) error {
	tc := tls.Client(withRawIO(u.tc.Conn), st.confFor(name))
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	u.tc.Conn, u.tls, u.sni, u.alpn = tc, tc, name, tc.ConnectionState().NegotiatedProtocol
	return nil
}

// tlsIdleState looks at what TLS already took from the socket of an idle
// connection: a record the server sent after its response (stray bytes,
// an alert) is read here without blocking, since the deadline has passed.
// The socket itself is peeked at afterwards.
func (u *upConn) tlsIdleState() int {
	u.tls.SetReadDeadline(time.Unix(1, 0))
	n, err := u.tls.Read(u.peekBuf[:])
	u.tls.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case n > 0:
		return peekStray
	case errors.As(err, &ne) && ne.Timeout():
		return peekIdle
	}
	return peekClosed
}

// sniSource is where a server connection's SNI comes from: nothing, a
// fixed name (str(NAME)), or the request (rules).
type sniSource struct {
	fixed string
	expr  string // a sample expression evaluated per request
}

// parseSNI reads a server's sni expression.
func parseSNI(expr string) (sniSource, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return sniSource{}, nil
	}
	if v, ok := strings.CutPrefix(e, "str("); ok && strings.HasSuffix(v, ")") {
		return sniSource{fixed: strings.TrimSuffix(v, ")")}, nil
	}
	return sniSource{expr: e}, nil
}

// buildServerTLS builds the TLS of every server of c that has one (b.mu
// held), keeping those that did not change; any error refuses the config.
func (b *Balancer) buildServerTLS(c *config.Cluster, certs map[string]*tls.Certificate) (map[serverID]*serverTLS, error) {
	out := map[serverID]*serverTLS{}
	for i := range c.Backends {
		cb := &c.Backends[i]
		for j := range cb.Servers {
			cs := &cb.Servers[j]
			if cs.TLS == nil {
				continue
			}
			id := serverID{config.ServerKey{Backend: cb.Name, Server: cs.Name}, cs.Address}
			var old *serverTLS
			if s := b.servers[id]; s != nil {
				if o := s.opts.Load(); o != nil {
					old = o.tls
				}
			}
			st, err := newServerTLS(cs, c, certs, old)
			if err != nil {
				return nil, fmt.Errorf("apply backend %s: server %s: TLS: %w", cb.Name, cs.Name, err)
			}
			out[id] = st
		}
	}
	return out, nil
}

// renewClientCertificates gives the servers whose client certificate is
// a store certificate its current version (b.mu held).
func (b *Balancer) renewClientCertificates(certs map[string]*tls.Certificate) {
	for _, s := range b.servers {
		if o := s.opts.Load(); o != nil && o.tls != nil && o.tls.certName != "" && !strings.Contains(o.tls.certName, "/") {
			if c := certs[o.tls.certName]; c != nil {
				o.tls.setCert(c)
			}
		}
	}
}

package balancer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/sys/unix"
)

// Idle connection pool limits, per server.
const (
	// ServerIdleTimeout closes pooled keep-alive connections to a server
	// that stayed unused this long.
	ServerIdleTimeout = 15 * time.Second
	// MaxIdlePerServer bounds the pooled keep-alive connections per server.
	MaxIdlePerServer = 512
)

const upBufSize = 8 << 10

// upConn is a connection to a server.
type upConn struct {
	srv     *server
	tc      timedConn
	br      *bufio.Reader
	bw      *bufio.Writer
	idleAt  int64     // unix ns when pooled
	reused  bool      // served a request before
	private bool      // carries a PROXY header naming one client: never pooled
	tls     *tls.Conn // TLS to the server (tc.Conn is it); nil: clear text
	// h2 is the HTTP/2 connection this request is a stream of (tc.Conn
	// is then the response stream, h2resp its response); never pooled.
	h2       *http2.ClientConn
	h2resp   *http.Response
	h2cancel context.CancelFunc
	st       *serverTLS // the TLS setting it was made with
	sni      string     // the server name its TLS sent
	alpn     string     // what its TLS negotiated
	rc       syscall.RawConn
	peekFn   func(uintptr) bool
	peeked   int // what the last peek saw: peekIdle, peekClosed or peekStray
	peekBuf  [1]byte
}

// What a non-blocking peek at an idle server connection sees.
const (
	peekIdle   = iota // nothing: the connection can carry a request
	peekClosed        // the server closed it (or an error)
	peekStray         // bytes nobody asked for
)

func (u *upConn) close() {
	if u.h2 == nil {
		u.tc.Conn.Close()
		return
	}
	// A stream: ended, from whichever goroutine (a forced close too);
	// releaseH2 gives back what its owner holds.
	if u.h2cancel != nil {
		u.h2cancel()
	}
	if st, ok := u.tc.Conn.(*h2Stream); ok {
		st.Close()
	}
	if u.private {
		u.h2.Close() // its PROXY header named one client
	}
}

// buffers gives u its read and write buffers on its first HTTP use (a
// TCP-mode connection never has them).
func (u *upConn) buffers() {
	if u.br == nil {
		u.br = bufio.NewReaderSize(&u.tc, upBufSize)
		u.bw = bufio.NewWriterSize(&u.tc, upBufSize)
	}
}

// peek is run by the runtime poller with the socket: it checks, without
// blocking, that the server has not closed the idle connection or sent
// bytes since its last response.
func (u *upConn) peek(fd uintptr) bool {
	n, errno := peekFD(fd, &u.peekBuf)
	switch {
	case errno == unix.EAGAIN:
		u.peeked = peekIdle
	case errno == 0 && n > 0:
		u.peeked = peekStray
	default:
		u.peeked = peekClosed
	}
	return true
}

// idleState peeks at the idle connection (peekIdle, peekClosed or
// peekStray).
func (u *upConn) idleState() int {
	if u.tls != nil {
		if st := u.tlsIdleState(); st != peekIdle {
			return st
		}
	}
	if u.rc == nil {
		return peekIdle
	}
	u.peeked = peekClosed
	if err := u.rc.Read(u.peekFn); err != nil {
		return peekClosed
	}
	if u.tls != nil && u.peeked == peekStray {
		return peekClosed // a TLS record: an alert or data, unknown until decrypted
	}
	return u.peeked
}

// pool is a server's LIFO list of idle keep-alive connections.
type pool struct {
	srv  *server
	mu   sync.Mutex
	idle []*upConn
}

// get returns a live idle connection, or nil. Every connection is peeked
// at before reuse, however briefly it was idle: one that the server closed
// is dropped, and one on which the server sent bytes after its last
// response is dropped and counted (Discarded), so those bytes can never be
// read as the next client's response. now is the clock read by the
// caller just before (idle ages are counted from it).
func (p *pool) get(st *serverTLS, sni string, now time.Time) *upConn {
	for {
		p.mu.Lock()
		i := len(p.idle) - 1
		for i >= 0 && !p.idle[i].fits(st, sni) {
			i--
		}
		if i < 0 {
			p.mu.Unlock()
			return nil
		}
		u := p.idle[i]
		last := len(p.idle) - 1
		copy(p.idle[i:], p.idle[i+1:])
		p.idle[last] = nil
		p.idle = p.idle[:last]
		p.mu.Unlock()
		age := time.Duration(now.UnixNano() - u.idleAt)
		if age < ServerIdleTimeout {
			switch u.idleState() {
			case peekIdle:
				return u
			case peekStray:
				p.srv.stats.discarded.Add(1)
			}
		}
		u.close()
	}
}

// fits reports whether idle connection u may carry a request that wants
// TLS st (nil: clear text) with server name sni: connections are reused
// only for the same name, as HAProxy does.
func (u *upConn) fits(st *serverTLS, sni string) bool {
	if st == nil {
		return u.tls == nil
	}
	return u.tls != nil && u.sni == sni && u.st == st
}

// put pools u for reuse, or closes it when the server takes no more
// traffic or the pool is full.
func (p *pool) put(u *upConn) {
	u.reused = true
	if !p.srv.stickyOK() || u.private {
		u.close()
		return
	}
	u.idleAt = time.Now().UnixNano()
	p.mu.Lock()
	if len(p.idle) >= MaxIdlePerServer || p.srv.removed.Load() {
		p.mu.Unlock()
		u.close()
		return
	}
	p.idle = append(p.idle, u)
	p.mu.Unlock()
}

func (p *pool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, u := range idle {
		u.close()
	}
}

// reap closes connections idle longer than ServerIdleTimeout (the oldest
// are at the front).
func (p *pool) reap(now time.Time) {
	limit := now.Add(-ServerIdleTimeout).UnixNano()
	p.mu.Lock()
	i := 0
	for i < len(p.idle) && p.idle[i].idleAt < limit {
		i++
	}
	old := make([]*upConn, i)
	copy(old, p.idle[:i])
	p.idle = append(p.idle[:0], p.idle[i:]...)
	p.mu.Unlock()
	for _, u := range old {
		u.close()
	}
}

// errDial wraps a failed connection attempt (nothing reached the server:
// always safe to retry).
type errDial struct{ err error }

func (e *errDial) Error() string { return "connect to server: " + e.err.Error() }
func (e *errDial) Unwrap() error { return e.err }

// dial opens a new connection to s for client cc (the PROXY header names
// it, when s sends one; cc may be nil).
func (b *Balancer) dial(ctx context.Context, s *server, timeout time.Duration, cc *clientConn, sni string) (*upConn, error) {
	start := time.Now()
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, &errDial{err}
	}
	u := &upConn{srv: s}
	u.tc.Conn = c
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			u.rc = rc
			u.peekFn = u.peek
		}
	}
	if err := sendProxyHeader(u, s, cc, timeout); err != nil {
		c.Close()
		return nil, &errDial{err}
	}
	if o := s.opts.Load(); o != nil && o.tls != nil {
		left := time.Duration(0)
		if timeout > 0 {
			if left = timeout - time.Since(start); left <= 0 {
				left = time.Nanosecond
			}
		}
		u.st = o.tls
		if err := u.handshake(ctx, o.tls, sni, left); err != nil {
			c.Close()
			return nil, &errDial{err}
		}
	}
	return u, nil
}

var errNoServer = errors.New("no server is available to handle this request")

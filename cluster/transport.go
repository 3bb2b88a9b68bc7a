package cluster

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The Raft port is multiplexed (as Consul does): every accepted connection
// is wrapped in TLS (unless running keyless on loopback) and then starts
// with one byte naming its kind.
const (
	connRaft    byte = 0x01 // hashicorp/raft RPCs (NetworkTransport)
	connForward byte = 0x02 // one forwarded Apply: request frame, response frame
	connAdmin   byte = 0x03 // one membership request (remove) for the leader
	// connLive (0x04, liveness.go): a long-lived connection that carries
	// a hello each way, then at most a goodbye byte.
)

const (
	handshakeTimeout = 5 * time.Second
	maxFrame         = 64 << 20
)

// mux owns the Raft port's listener. serve accepts connections, runs the
// TLS handshake and reads the kind byte in a per-connection goroutine (a
// slow peer never blocks accepting), then hands raft connections to the
// stream layer and serves the others with handle.
type mux struct {
	ln        net.Listener
	advertise net.Addr
	tls       *tls.Config // nil: plain TCP (loopback without a key)
	logger    *slog.Logger
	handle    func(kind byte, conn net.Conn) // serves connForward, connAdmin and connLive; closes conn

	raftCh    chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // per-connection goroutines
}

func newMux(ln net.Listener, advertise net.Addr, tlsConf *tls.Config, logger *slog.Logger, handle func(byte, net.Conn)) *mux {
	return &mux{
		ln: ln, advertise: advertise, tls: tlsConf, logger: logger, handle: handle,
		raftCh: make(chan net.Conn), closed: make(chan struct{}),
	}
}

// serve accepts until close; it returns after every connection goroutine
// it started has finished.
func (m *mux) serve() {
	defer m.wg.Wait()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.logger.Error("raft listener failed", "err", err)
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.dispatch(conn)
		}()
	}
}

func (m *mux) dispatch(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if m.tls != nil {
		tc := tls.Server(conn, m.tls)
		if err := tc.Handshake(); err != nil {
			m.logger.Warn("reject raft connection from "+conn.RemoteAddr().String()+": "+handshakeReason(err), "err", err)
			conn.Close()
			return
		}
		conn = tc
	}
	var kind [1]byte
	if _, err := io.ReadFull(conn, kind[:]); err != nil {
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	switch kind[0] {
	case connRaft:
		select {
		case m.raftCh <- conn:
		case <-m.closed:
			conn.Close()
		}
	case connForward, connAdmin, connLive:
		m.handle(kind[0], conn)
	default:
		m.logger.Warn("reject raft connection: unknown kind", "from", conn.RemoteAddr().String(), "kind", kind[0])
		conn.Close()
	}
}

// handshakeReason explains a failed server-side handshake to an operator.
func handshakeReason(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, errWrongKey.Error()):
		return errWrongKey.Error()
	case strings.Contains(s, "peer certificate not signed"):
		return s
	case strings.Contains(s, "bad certificate"), strings.Contains(s, "unknown certificate"):
		return "the peer rejected this node's certificate — is cluster_key the same on every node?"
	case strings.Contains(s, "first record does not look like a TLS handshake"):
		return "the peer does not speak TLS — is cluster_key set on every node?"
	default:
		return "TLS handshake failed — is cluster_key the same on every node?"
	}
}

// dial connects to a peer's Raft port and announces kind.
func (m *mux) dial(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if m.tls != nil {
		tc := tls.Client(conn, m.tls)
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.Handshake(); err != nil {
			conn.Close()
			if strings.Contains(err.Error(), "peer certificate not signed") {
				return nil, fmt.Errorf("raft connection to %s: %w", addr, err)
			}
			return nil, fmt.Errorf("raft connection to %s: TLS handshake: %w — is cluster_key the same on every node?", addr, err)
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	if _, err := conn.Write([]byte{kind}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (m *mux) close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.ln.Close()
	})
}

// raftLayer is the raft.StreamLayer over the mux.
type raftLayer struct{ m *mux }

var _ raft.StreamLayer = raftLayer{}

func (l raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftCh:
		return c, nil
	case <-l.m.closed:
		return nil, net.ErrClosed
	}
}

// Close is called by raft's NetworkTransport on shutdown; the mux closes
// the listener only once.
func (l raftLayer) Close() error { l.m.close(); return nil }

// Addr is the advertised address: raft uses it as this server's address.
func (l raftLayer) Addr() net.Addr { return l.m.advertise }

func (l raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return l.m.dial(string(addr), connRaft, timeout)
}

// writeFrame writes v as a length-prefixed JSON frame.
func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

// readFrame reads one length-prefixed JSON frame into v.
func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds the limit of %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// tcpAddr is a net.Addr for an advertised host:port.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

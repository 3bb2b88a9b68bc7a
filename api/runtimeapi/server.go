package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"time"
)

// Socket is one runtime API listener.
type Socket struct {
	Network string // "unix" or "tcp"
	Address string // a path, or host:port
	Mode    uint32 // a unix socket file's permissions
	Level   Level
}

func (s Socket) String() string {
	if s.Network == "unix" {
		return s.Address
	}
	return s.Network + "@" + s.Address
}

// Config holds the server's settings.
type Config struct {
	// Timeout closes a connection idle this long (HAProxy's "stats
	// timeout"; 0: 10s). "set timeout cli" changes it per connection.
	Timeout time.Duration
	// MaxConn bounds concurrent connections per socket (HAProxy's "stats
	// maxconn"; 0: 10). Further clients wait to be accepted.
	MaxConn int
}

// Deps are the server's collaborators.
type Deps struct {
	Cluster Cluster
	Logger  *slog.Logger
}

// Server serves the runtime API on the sockets Update names.
type Server struct {
	cfg     Config
	cluster Cluster
	log     *slog.Logger

	mu        sync.Mutex
	listeners map[Socket]*listener
	want      []Socket
	runCtx    context.Context // non-nil while Run runs
	wg        sync.WaitGroup  // accept loops and connections
}

// listener is one bound socket.
type listener struct {
	ln      net.Listener
	sock    Socket
	owned   os.FileInfo // the unix socket file this listener created
	serving bool        // its accept loop runs
}

// New checks cfg; it binds nothing and starts no goroutine.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Cluster == nil {
		return nil, errors.New("runtime api: no cluster")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxConn <= 0 {
		cfg.MaxConn = 10
	}
	return &Server{cfg: cfg, cluster: deps.Cluster, log: deps.Logger.With("component", "runtime_api"), listeners: map[Socket]*listener{}}, nil
}

// SetTimeout changes the idle timeout of new connections.
func (s *Server) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = 10 * time.Second
	}
	s.mu.Lock()
	s.cfg.Timeout = d
	s.mu.Unlock()
}

// Update makes the server listen on exactly these sockets: new ones are
// bound at once (and served once Run runs), removed ones closed;
// connections already open finish. It returns the sockets that could not
// be bound, joined; the others are served regardless, and a later Update
// retries the failed ones.
func (s *Server) Update(socks []Socket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want = append([]Socket(nil), socks...)
	return s.reconcile()
}

// reconcile binds and closes listeners to match s.want; s.mu is held.
func (s *Server) reconcile() error {
	want := map[Socket]bool{}
	for _, sk := range s.want {
		want[sk] = true
	}
	for sk, l := range s.listeners {
		if !want[sk] {
			l.close()
			delete(s.listeners, sk)
			s.log.Info("runtime api socket closed", "socket", sk.String())
		}
	}
	var errs []error
	for _, sk := range s.want {
		if _, ok := s.listeners[sk]; ok {
			continue
		}
		l, err := bind(sk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.listeners[sk] = l
		s.serve(l)
		s.log.Info("runtime api listening", "socket", sk.String(), "level", sk.Level.String())
	}
	return errors.Join(errs...)
}

// serve starts l's accept loop if Run runs and it has none yet; s.mu is held.
func (s *Server) serve(l *listener) {
	if s.runCtx == nil || l.serving {
		return
	}
	l.serving = true
	s.wg.Add(1)
	go s.acceptLoop(s.runCtx, l)
}

// Run serves until ctx is done, then closes every socket and connection
// and returns once all have finished.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	if err := s.reconcile(); err != nil {
		s.log.Error("runtime api socket not bound", "err", err)
	}
	for _, l := range s.listeners {
		s.serve(l)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	for sk, l := range s.listeners {
		l.close()
		delete(s.listeners, sk)
	}
	s.runCtx = nil
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Sockets returns the sockets being served, sorted.
func (s *Server) Sockets() []Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Socket, 0, len(s.listeners))
	for sk := range s.listeners {
		out = append(out, sk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (s *Server) acceptLoop(ctx context.Context, l *listener) {
	defer s.wg.Done()
	slots := make(chan struct{}, s.cfg.MaxConn)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c, err := l.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("runtime api accept", "socket", l.sock.String(), "err", err)
			}
			return
		}
		s.mu.Lock()
		timeout := s.cfg.Timeout
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-slots }()
			s.serveConn(ctx, c, l.sock.Level, timeout)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, level Level, timeout time.Duration) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	sess := &session{cluster: s.cluster, level: level, socketLevel: level, timeout: timeout}
	sess.serve(ctx, c)
}

// bind listens on sk. A unix socket is bound under a temporary name,
// given its mode, then renamed into place, so that it never exists with
// other permissions and a stale file from a killed process is replaced
// (as HAProxy does). A path that a live process still answers on is not
// taken over.
func bind(sk Socket) (*listener, error) {
	if sk.Network != "unix" {
		ln, err := net.Listen(sk.Network, sk.Address)
		if err != nil {
			return nil, fmt.Errorf("listen on runtime api socket %s: %w", sk, err)
		}
		return &listener{ln: ln, sock: sk}, nil
	}
	if c, err := net.DialTimeout("unix", sk.Address, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("runtime api socket %s: another process listens on it", sk.Address)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", sk.Address, os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on runtime api socket %s: %w", sk.Address, err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("runtime api socket %s: %w", sk.Address, err)
	}
	if err := os.Chmod(tmp, os.FileMode(sk.Mode)); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, sk.Address); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(sk.Address)
	if err != nil {
		return fail(err)
	}
	return &listener{ln: ln, sock: sk, owned: fi}, nil
}

// close stops accepting and removes the socket file if it is still the
// one this listener created.
func (l *listener) close() {
	l.ln.Close()
	if l.owned != nil {
		if fi, err := os.Lstat(l.sock.Address); err == nil && os.SameFile(fi, l.owned) {
			os.Remove(l.sock.Address)
		}
	}
}

package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// SiteConfig describes one test site.
type SiteConfig struct {
	// Name is what the site answers at / and /default.htm ("HAProxy <Name>")
	// and in the X-Served-By header of every response. Required.
	Name string
	// Listen is the TCP address to listen on, e.g. "127.0.0.1:8001";
	// "127.0.0.1:0" picks a free port (see Site.Addr). Required.
	Listen string
	// Root is the directory served for every other path. If it does not
	// exist it is created with an empty deploy.txt, the file the article's
	// health check asks for; renaming Root/deploy.txt makes the check fail
	// with 404, which takes the site out of rotation. Required.
	Root string
}

// Site is a test web site: the article's IIS site plus endpoints that
// exercise a proxy (slow answers, chunked streams, echo, WebSocket upgrade).
type Site struct {
	cfg    SiteConfig
	logger *slog.Logger
	srv    *http.Server

	ready   chan struct{}
	started bool // guarded by mu
	addr    string

	mu       sync.Mutex
	closing  bool
	hijacked map[net.Conn]struct{}
	tunnels  sync.WaitGroup // one per hijacked connection still being served
}

// shutdownGrace bounds how long Run waits for in-flight requests after ctx
// is done before it closes their connections.
const shutdownGrace = 5 * time.Second

// NewSite checks cfg and prepares Root. It starts nothing; call Run.
// logger may be nil (logs are discarded).
func NewSite(cfg SiteConfig, logger *slog.Logger) (*Site, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("new site: name is empty: give the name the site answers with, e.g. server1")
	case cfg.Listen == "":
		return nil, fmt.Errorf("new site %s: listen address is empty: give host:port, e.g. 127.0.0.1:8001", cfg.Name)
	case cfg.Root == "":
		return nil, fmt.Errorf("new site %s: root directory is empty: give the directory to serve", cfg.Name)
	}
	if err := prepareRoot(cfg.Root); err != nil {
		return nil, fmt.Errorf("new site %s: %w", cfg.Name, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Site{
		cfg:      cfg,
		logger:   logger.With("component", "testsite", "server", cfg.Name),
		ready:    make(chan struct{}),
		hijacked: make(map[net.Conn]struct{}),
	}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Per-connection errors (bad requests, resets) are Debug detail.
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// prepareRoot creates root with an empty deploy.txt when root does not
// exist. An existing root is left as it is: its deploy.txt may have been
// renamed on purpose.
func prepareRoot(root string) error {
	fi, err := os.Stat(root)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("root %s is not a directory", root)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stat root: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create root: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "deploy.txt"), nil, 0o644); err != nil {
		return fmt.Errorf("create deploy.txt: %w", err)
	}
	return nil
}

// Name returns the configured site name.
func (s *Site) Name() string { return s.cfg.Name }

// Ready is closed once Run listens; Addr is valid from then on.
func (s *Site) Ready() <-chan struct{} { return s.ready }

// Addr returns the address Run listens on, or "" before Ready is closed.
func (s *Site) Addr() string {
	select {
	case <-s.ready:
		return s.addr
	default:
		return ""
	}
}

// URL returns "http://" + Addr(), or "" before Ready is closed.
func (s *Site) URL() string {
	if a := s.Addr(); a != "" {
		return "http://" + a
	}
	return ""
}

// Run listens and serves until ctx is done, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish for up to 5 s, closes
// what is left (WebSocket tunnels included) and returns once every
// connection goroutine has ended. A Site runs once.
func (s *Site) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("run site %s: already started", s.cfg.Name)
	}
	s.started = true
	s.mu.Unlock()

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("run site %s: %w", s.cfg.Name, err)
	}
	s.addr = ln.Addr().String()
	close(s.ready)
	s.logger.Info("test site listening", "addr", s.addr, "root", s.cfg.Root)

	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}

	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := s.srv.Shutdown(shutCtx); err != nil {
		s.srv.Close() // grace expired: cut the remaining connections
	}
	if serveErr == nil {
		<-served // http.ErrServerClosed once Shutdown closed the listener
	}
	s.closeHijacked()
	s.tunnels.Wait()
	s.logger.Info("test site stopped")

	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve site %s: %w", s.cfg.Name, serveErr)
	}
	return nil
}

// trackHijacked registers a connection taken over from net/http (which no
// longer shuts it down) and returns its unregister func, or false when the
// site is already shutting down.
func (s *Site) trackHijacked(c net.Conn) (func(), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, false
	}
	s.hijacked[c] = struct{}{}
	s.tunnels.Add(1)
	return func() {
		s.mu.Lock()
		delete(s.hijacked, c)
		s.mu.Unlock()
		s.tunnels.Done()
	}, true
}

func (s *Site) closeHijacked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.hijacked {
		c.Close()
	}
}

// routes builds the handler. Every response carries X-Served-By.
func (s *Site) routes() http.Handler {
	mux := http.NewServeMux()
	// GET patterns also match HEAD; net/http drops the body for HEAD.
	mux.HandleFunc("GET /{$}", s.serveHome)
	mux.HandleFunc("GET /default.htm", s.serveHome)
	mux.HandleFunc("GET /slow", serveSlow)
	mux.HandleFunc("GET /stream", serveStream)
	mux.HandleFunc("POST /echo", serveEcho)
	mux.HandleFunc("PUT /echo", serveEcho)
	mux.HandleFunc("/headers", serveHeaders)
	mux.HandleFunc("GET /ws", s.serveWebSocket)
	mux.Handle("/", http.FileServer(http.Dir(s.cfg.Root)))

	name := s.cfg.Name
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		mux.ServeHTTP(w, r)
	})
}

// serveHome answers like the article's default.htm.
func (s *Site) serveHome(w http.ResponseWriter, _ *http.Request) {
	body := "HAProxy " + s.cfg.Name + "\n"
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	io.WriteString(w, body)
}

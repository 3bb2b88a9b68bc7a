package runtimeapi

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServer runs a Server on a unix socket of each level in a temp dir.
func startServer(t *testing.T, m *memCluster, cfg Config) map[Level]string {
	t.Helper()
	srv, err := New(cfg, Deps{Cluster: m})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := map[Level]string{}
	var socks []Socket
	for _, l := range []Level{LevelUser, LevelOperator, LevelAdmin} {
		p := filepath.Join(dir, l.String()+".sock")
		paths[l] = p
		socks = append(socks, Socket{Network: "unix", Address: p, Mode: 0o600, Level: l})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if err := srv.Update(socks); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		for _, p := range paths {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("socket file %s left behind", p)
			}
		}
	})
	return paths
}

// exchange sends in (then half-closes when closeWrite) and reads all.
func exchange(t *testing.T, path, in string, closeWrite bool) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		c.(*net.UnixConn).CloseWrite()
	}
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, out)
	}
	return string(out)
}

func TestSocketFraming(t *testing.T) {
	m := &memCluster{view: articleView()}
	paths := startServer(t, m, Config{Timeout: 2 * time.Second})
	admin := paths[LevelAdmin]
	tests := []struct{ name, in, want string }{
		{"one command, an empty line after it", "show backend\n", "# name\nservers\n\n"},
		{"CRLF", "show backend\r\n", "# name\nservers\n\n"},
		{"semicolons run several commands", "show backend;get weight servers/server2\n", "# name\nservers\n\n5 (initial 5)\n\n"},
		{"a request ended by ';' only", "show backend;", "# name\nservers\n\n"},
		{"a request without delimiter is not run", "show backend", ""},
		{"quit says nothing", "quit\n", ""},
		{"prompt mode", "prompt\nshow backend\nquit\n", "\n> # name\nservers\n\n> "},
		{"prompt toggled off", "prompt\nprompt\nshow backend\n", "\n> \n# name\nservers\n\n"},
		{"a payload is skipped up to an empty line", "add map m <<\nk v\n\nshow backend\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, admin, tt.in, true)
			if tt.name == "a payload is skipped up to an empty line" {
				if !strings.HasPrefix(got, "Unknown command") || !strings.HasSuffix(got, "# name\nservers\n\n") {
					t.Errorf("got %q", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSocketLevels(t *testing.T) {
	m := &memCluster{view: articleView()}
	paths := startServer(t, m, Config{})
	if got := exchange(t, paths[LevelUser], "set server servers/server1 state drain\n", true); got != "Permission denied\n\n" {
		t.Errorf("user socket write: %q", got)
	}
	if got := exchange(t, paths[LevelOperator], "show cli level\n", true); got != "operator\n\n" {
		t.Errorf("operator socket level: %q", got)
	}
	if got := exchange(t, paths[LevelAdmin], "set server servers/server1 state drain\n", true); got != "\n" {
		t.Errorf("admin socket write: %q", got)
	}
	if ch := m.recorded(); len(ch) != 1 || ch[0].Kind != ChangeAdmin {
		t.Errorf("changes: %v, want the admin socket's one", ch)
	}
	fi, err := os.Stat(paths[LevelAdmin])
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket file mode %v (%v), want a socket with 0600", fi.Mode(), err)
	}
}

func TestIdleConnectionTimesOut(t *testing.T) {
	m := &memCluster{view: articleView()}
	paths := startServer(t, m, Config{Timeout: 300 * time.Millisecond})
	c, err := net.Dial("unix", paths[LevelUser])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "prompt\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	out, _ := io.ReadAll(c)
	if string(out) != "\n> " {
		t.Errorf("got %q", out)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about the 300ms timeout", d)
	}
}

func TestStaleSocketFileIsReplacedButALiveOneIsNot(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "admin.sock")
	// A socket file left by a killed process: nobody answers on it.
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	l, err := bind(Socket{Network: "unix", Address: p, Mode: 0o600, Level: LevelAdmin})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l.close()
	if _, err := bind(Socket{Network: "unix", Address: p, Mode: 0o600, Level: LevelAdmin}); err == nil || !strings.Contains(err.Error(), "another process listens on it") {
		t.Errorf("a live socket was taken over: %v", err)
	}
}

func TestTCPSocket(t *testing.T) {
	m := &memCluster{view: articleView()}
	srv, err := New(Config{}, Deps{Cluster: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := srv.Update([]Socket{{Network: "tcp", Address: "127.0.0.1:0", Level: LevelUser}}); err != nil {
		t.Fatal(err)
	}
	var addr string
	for _, l := range srv.listenersSnapshot() {
		addr = l.ln.Addr().String()
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "show cli level\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if string(out) != "user\n\n" {
		t.Errorf("tcp socket: %q", out)
	}
	if err := srv.Update(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("a removed socket still accepts")
	}
}

func (s *Server) listenersSnapshot() []*listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*listener
	for _, l := range s.listeners {
		out = append(out, l)
	}
	return out
}

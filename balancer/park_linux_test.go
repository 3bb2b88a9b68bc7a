package balancer

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// keepAliveClient sends requests on one connection and reads each answer.
type keepAliveClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAliveClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAliveClient{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends GET path and returns the body of the answer.
func (k *keepAliveClient) get(path string) (string, error) {
	k.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(k.c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		return "", err
	}
	var raw []byte
	if err := readHead(k.br, &raw); err != nil {
		return "", err
	}
	var n int
	for _, l := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(l, "Content-Length: "); ok {
			for _, c := range v {
				n = n*10 + int(c-'0')
			}
		}
	}
	body := make([]byte, n)
	_, err := io.ReadFull(k.br, body)
	return string(body), err
}

func TestParkedConnectionsResume(t *testing.T) {
	rec := newRecorder(t, echoPath)
	e := start(t, cluster(srv("s1", rec.addr)))
	waitFor(t, "the parker", 5*time.Second, func() bool { return e.b.park.Load() != nil })
	p := e.b.park.Load()
	clients := make([]*keepAliveClient, 20)
	for i := range clients {
		clients[i] = dialKeepAlive(t, e.addr("fe"))
		if body, err := clients[i].get("/first"); err != nil || body != "/first" {
			t.Fatalf("first request: %q %v", body, err)
		}
	}
	waitFor(t, "20 idle connections parked", 5*time.Second, func() bool { return p.len() == 20 })
	// Each resumes in a goroutine of its own, as often as it comes back.
	for round := range 3 {
		for i, k := range clients {
			if body, err := k.get("/again"); err != nil || body != "/again" {
				t.Fatalf("round %d client %d: %q %v", round, i, body, err)
			}
		}
		waitFor(t, "parked again", 5*time.Second, func() bool { return p.len() == 20 })
	}
	// A pipelined pair sent to a parked connection: both answered in order.
	k := clients[0]
	io.WriteString(k.c, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/p1", "/p2"} {
		var raw []byte
		if err := readHead(k.br, &raw); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, len(want))
		io.ReadFull(k.br, body)
		if string(body) != want {
			t.Fatalf("pipelined: got %q, want %q", body, want)
		}
	}
}

func TestParkedConnectionKeepAliveTimeout(t *testing.T) {
	rec := newRecorder(t, echoPath)
	c := cluster(srv("s1", rec.addr))
	c.Frontends[0].Timeouts.HTTPKeepAlive = config.Duration(400 * time.Millisecond)
	e := start(t, c)
	waitFor(t, "the parker", 5*time.Second, func() bool { return e.b.park.Load() != nil })
	k := dialKeepAlive(t, e.addr("fe"))
	if _, err := k.get("/"); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	waitFor(t, "parked", 5*time.Second, func() bool { return e.b.park.Load().len() == 1 })
	k.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := k.c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d, %v: want the connection closed by the keep-alive timeout", n, err)
	}
	if d := time.Since(sent); d < 350*time.Millisecond {
		t.Errorf("closed after %v, before the 400ms keep-alive timeout", d)
	}
	waitFor(t, "the frontend's connection count back to 0", 5*time.Second, func() bool {
		return e.b.Stats().Frontends[0].CurConns == 0
	})
}

func TestShutdownClosesParkedConnectionsAtOnce(t *testing.T) {
	rec := newRecorder(t, echoPath)
	b, err := New(Config{DrainTimeout: 10 * time.Second}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c := cluster(srv("s1", rec.addr)).Resolve()
	if err := b.Apply(Desired{Config: c}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	waitFor(t, "the parker", 5*time.Second, func() bool { return b.park.Load() != nil })
	k := dialKeepAlive(t, c.Frontends[0].Bind[0])
	if _, err := k.get("/"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "parked", 5*time.Second, func() bool { return b.park.Load().len() == 1 })
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run waited for a parked (idle) connection")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v with only an idle connection", d)
	}
	k.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := k.c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("parked connection after shutdown: %v, want EOF", err)
	}
}

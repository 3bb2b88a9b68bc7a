package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSite runs a site on 127.0.0.1:0 until the test ends and returns it
// once it listens.
func startSite(t *testing.T, name, root string) *Site {
	t.Helper()
	s, err := NewSite(SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: root}, nil)
	if err != nil {
		t.Fatalf("NewSite: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return 10s after cancel")
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("site not ready after 5s")
	}
	return s
}

func newRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "site")
}

// fetch sends one request on a fresh connection and returns the status,
// the X-Served-By header and the body.
func fetch(t *testing.T, method, url string, body io.Reader) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Served-By"), string(b)
}

func TestSiteAnswersWithItsNameLikeTheArticle(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string
	}{
		{"GET", "/", 200, "HAProxy server1\n"},
		{"GET", "/default.htm", 200, "HAProxy server1\n"},
		{"HEAD", "/", 200, ""},
		{"HEAD", "/default.htm", 200, ""},
		{"GET", "/deploy.txt", 200, ""},
		{"GET", "/missing.htm", 404, "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			status, servedBy, body := fetch(t, tc.method, s.URL()+tc.path, nil)
			if status != tc.wantStatus || body != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tc.wantStatus, tc.wantBody)
			}
			if servedBy != "server1" {
				t.Errorf("X-Served-By = %q, want server1", servedBy)
			}
		})
	}
}

// headDeployTxt sends the article's health check verbatim on a raw
// connection and returns the status line.
func headDeployTxt(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "HEAD /deploy.txt HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read status line: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestSiteHealthCheckFailsAfterDeployTxtRenamed(t *testing.T) {
	root := newRoot(t)
	s := startSite(t, "server1", root)
	if got := headDeployTxt(t, s.Addr()); got != "HTTP/1.0 200 OK" {
		t.Fatalf("before rename: %q, want HTTP/1.0 200 OK", got)
	}
	if err := os.Rename(filepath.Join(root, "deploy.txt"), filepath.Join(root, "deploy1.txt")); err != nil {
		t.Fatal(err)
	}
	if got := headDeployTxt(t, s.Addr()); got != "HTTP/1.0 404 Not Found" {
		t.Fatalf("after rename: %q, want HTTP/1.0 404 Not Found", got)
	}
	if err := os.Rename(filepath.Join(root, "deploy1.txt"), filepath.Join(root, "deploy.txt")); err != nil {
		t.Fatal(err)
	}
	if got := headDeployTxt(t, s.Addr()); got != "HTTP/1.0 200 OK" {
		t.Fatalf("after renaming back: %q, want HTTP/1.0 200 OK", got)
	}
}

func TestNewSiteKeepsExistingRoot(t *testing.T) {
	root := t.TempDir() // exists, no deploy.txt: the site is "out"
	if _, err := NewSite(SiteConfig{Name: "server2", Listen: "127.0.0.1:0", Root: root}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "deploy.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deploy.txt created in an existing root (stat err %v)", err)
	}
}

func TestNewSiteRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  SiteConfig
		want string
	}{
		{"no name", SiteConfig{Listen: "127.0.0.1:0", Root: t.TempDir()}, "name is empty"},
		{"no listen", SiteConfig{Name: "a", Root: t.TempDir()}, "listen address is empty"},
		{"no root", SiteConfig{Name: "a", Listen: "127.0.0.1:0"}, "root directory is empty"},
		{"root is a file", SiteConfig{Name: "a", Listen: "127.0.0.1:0", Root: file}, "is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSite(tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSiteStreamIsChunkedAndComplete(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	resp, err := http.Get(s.URL() + "/stream?bytes=1000000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("ContentLength %d TransferEncoding %v, want chunked", resp.ContentLength, resp.TransferEncoding)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != 1000000 {
		t.Errorf("read %d bytes, err %v; want 1000000", n, err)
	}
	if status, _, _ := fetch(t, "GET", s.URL()+"/stream?bytes=-1", nil); status != 400 {
		t.Errorf("bytes=-1: status %d, want 400", status)
	}
}

// TestSiteEchoStreams writes a part of the body and reads its echo before
// writing the next part: only a streaming, full-duplex echo passes.
func TestSiteEchoStreams(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", s.URL()+"/echo", pr)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	var resp *http.Response
	for i := range 3 {
		part := []byte(strings.Repeat(string(rune('a'+i)), 1000))
		if _, err := pw.Write(part); err != nil {
			t.Fatal(err)
		}
		if resp == nil {
			r := <-got
			if r.err != nil {
				t.Fatal(r.err)
			}
			resp = r.resp
			defer resp.Body.Close()
		}
		echo := make([]byte, len(part))
		if _, err := io.ReadFull(resp.Body, echo); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if !bytes.Equal(echo, part) {
			t.Fatalf("part %d: echo differs", i)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the body: %d more bytes, err %v", len(rest), err)
	}
}

func TestSiteSlowAnswersAfterDelay(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	began := time.Now()
	status, _, body := fetch(t, "GET", s.URL()+"/slow?ms=100", nil)
	if took := time.Since(began); took < 100*time.Millisecond {
		t.Errorf("answered after %v, want >= 100ms", took)
	}
	if status != 200 || body != "slow 100ms\n" {
		t.Errorf("got %d %q", status, body)
	}
}

func TestSiteHeadersEchoesRequestHeaders(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	req, _ := http.NewRequest("GET", s.URL()+"/headers?x=1", nil)
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Host = "www.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"GET /headers?x=1 HTTP/1.1\n", "Host: www.example\n", "X-Forwarded-For: 10.0.0.1\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("body %q lacks %q", b, want)
		}
	}
}

func TestSiteWebSocketHandshakeAndEcho(t *testing.T) {
	s := startSite(t, "server2", newRoot(t))
	c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	raw := make([]byte, 16)
	rand.Read(raw)
	key := base64.StdEncoding.EncodeToString(raw)
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), WebSocketAccept(key); got != want {
		t.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if got := resp.Header.Get("X-Served-By"); got != "server2" {
		t.Errorf("X-Served-By %q", got)
	}
	for _, msg := range []string{"hello", "world\x00\xff"} {
		io.WriteString(c, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, err %v", msg, buf, err)
		}
	}
}

// TestWebSocketAcceptMatchesRFC6455 uses the example of RFC 6455 §1.3.
func TestWebSocketAcceptMatchesRFC6455(t *testing.T) {
	if got := WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("got %q", got)
	}
}

func TestSiteWebSocketRejectsBadHandshake(t *testing.T) {
	s := startSite(t, "server1", newRoot(t))
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"plain GET", nil, 400},
		{"bad version", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, 426},
		{"bad key", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL()+"/ws", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestSiteRunReturnsWithOpenWebSocket: an open tunnel must not keep Run
// from returning after its context is done.
func TestSiteRunReturnsWithOpenWebSocket(t *testing.T) {
	s, err := NewSite(SiteConfig{Name: "server1", Listen: "127.0.0.1:0", Root: newRoot(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return with an open WebSocket")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run: want an error")
	}
}

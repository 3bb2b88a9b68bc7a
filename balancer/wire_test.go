package balancer

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/balancer/http1"
)

// recorder is a backend that records exactly what it received, request by
// request, and answers each with raw bytes, so that it can misbehave on
// purpose (extra bytes, bad framing, bad fields).
type recorder struct {
	addr   string
	answer func(h *http1.Head) string

	mu    sync.Mutex
	heads []string // request heads as received, in order
	raw   bytes.Buffer
}

func newRecorder(t *testing.T, answer func(h *http1.Head) string) *recorder {
	t.Helper()
	r := &recorder{answer: answer}
	r.addr = rawServer(t, r.serve)
	return r
}

// serve reads requests (heads and their bodies) and answers each.
func (r *recorder) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		var raw []byte
		if err := readHead(br, &raw); err != nil {
			return
		}
		r.mu.Lock()
		r.heads = append(r.heads, string(raw))
		r.raw.Write(raw)
		r.mu.Unlock()
		var h http1.Head
		if err := h.ParseRequest(append([]byte(nil), raw...)); err != nil {
			return
		}
		kind, n := h.RequestBody()
		var body bodyReader
		body.reset(br, kind, n)
		b, err := io.ReadAll(&body)
		r.mu.Lock()
		r.raw.Write(b)
		r.mu.Unlock()
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, r.answer(&h)); err != nil {
			return
		}
	}
}

func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.heads...)
}

// echoPath answers every request with its target as the body.
func echoPath(h *http1.Head) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(h.Target)) + "\r\n\r\n" + string(h.Target)
}

// rawRoundTrip sends data on a new connection and returns everything the
// balancer sent back until it closed the connection or stayed silent for
// quiet.
func rawRoundTrip(t *testing.T, addr, data string, quiet time.Duration) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, data); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			closed := !isTimeout(err)
			return out.String(), closed
		}
	}
}

// statusOf returns the status of the first response in s, or 0.
func statusOf(s string) int {
	if len(s) < 12 || !strings.HasPrefix(s, "HTTP/1.") {
		return 0
	}
	n, _ := strconv.Atoi(s[9:12])
	return n
}

func TestStrayBytesNeverReachAnotherClient(t *testing.T) {
	for _, tc := range []struct {
		name, stray string
		method      string
	}{
		// The vector: a body on a HEAD answer, then a whole
		// second response.
		{"body on HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray", "HEAD"},
		{"body on 204", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray", "GET"},
		{"body on 304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nstray", "GET"},
		{"second response after the body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray", "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(h *http1.Head) string {
				if string(h.Target) == "/x" {
					return tc.stray
				}
				return echoPath(h)
			})
			e := start(t, cluster(srv("s1", rec.addr)))
			first, _ := rawRoundTrip(t, e.addr("fe"), tc.method+" /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 2*time.Second)
			if statusOf(first) == 0 {
				t.Fatalf("first client got %q", first)
			}
			for _, c := range []string{"B", "C", "D", "E"} {
				path := "/client-" + c
				got, _ := rawRoundTrip(t, e.addr("fe"), "GET "+path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 2*time.Second)
				if statusOf(got) != 200 || !strings.HasSuffix(got, "\r\n\r\n"+path) {
					t.Fatalf("client %s got %q, want its own answer %s", c, got, path)
				}
			}
			if n := e.serverStats("s1").Discarded; n != 1 {
				t.Errorf("Discarded = %d, want 1", n)
			}
		})
	}
}

func TestLateStrayBytesOnAnIdleServerConnection(t *testing.T) {
	wrote := make(chan struct{})
	var once sync.Once
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var raw []byte
			if err := readHead(br, &raw); err != nil {
				return
			}
			var h http1.Head
			h.ParseRequest(raw)
			io.WriteString(c, echoPath(&h))
			if string(h.Target) == "/late" {
				// Bytes nobody asked for, a moment after the response:
				// the connection is idle in the pool by then.
				time.Sleep(100 * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
				once.Do(func() { close(wrote) })
			}
		}
	})
	e := start(t, cluster(srv("s1", addr)))
	if got, _ := rawRoundTrip(t, e.addr("fe"), "GET /late HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 2*time.Second); statusOf(got) != 200 {
		t.Fatalf("first request: %q", got)
	}
	<-wrote // on loopback the bytes are in the balancer's socket once written
	got, _ := rawRoundTrip(t, e.addr("fe"), "GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasSuffix(got, "\r\n\r\n/next") {
		t.Fatalf("second client got %q, want its own answer", got)
	}
	if n := e.serverStats("s1").Discarded; n != 1 {
		t.Errorf("Discarded = %d, want 1", n)
	}
}

// TestRequestVectors sends each raw request and checks what the client
// got and exactly what reached the server: nothing for a refused request.
// The expectations were checked against HAProxy 2.6 (see the README's
// table); where tandem is stricter the row says so.
func TestRequestVectors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		fwd      string // the head the server received; "" for none
		closed   bool   // the balancer closed the client connection after it
	}{
		{"plain", "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", 200, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"bare CR in a value", "POST / HTTP/1.1\r\nHost: a\r\nX-Foo: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", 400, "", true},
		{"NUL in a value (stricter than HAProxy)", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400, "", true},
		{"control in the method", "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"colon in the method", "G:T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"CR in the target", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "", true},
		{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "", true},
		{"equal Host fields merged", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 200, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"absolute-form against Host", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", true},
		{"absolute-form agreeing", "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 200, "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"obs-fold unfolded", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 200, "GET / HTTP/1.1\r\nHost: a\r\nX: a   b\r\n\r\n", false},
		{"HTTP/1.2 read as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "", true},
		{"version not a digit", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400, "", true},
		{"content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 200, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", false},
		{"content-length conflict", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello", 400, "", true},
		{"chunked with an empty element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"zero-padded chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\n0\r\n\r\n", 200, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, "", true},
		{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, "", true},
		{"chunk size zz", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, "", true},
		{"HTTP/0.9", "GET /\r\n\r\n", 400, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, echoPath)
			e := start(t, cluster(srv("s1", rec.addr)))
			got, closed := rawRoundTrip(t, e.addr("fe"), tc.in, 300*time.Millisecond)
			if statusOf(got) != tc.status {
				t.Fatalf("client got %q, want status %d", got, tc.status)
			}
			heads := rec.received()
			switch {
			case tc.fwd == "" && len(heads) > 0:
				t.Fatalf("the server received %q, want nothing", heads)
			case tc.fwd != "" && (len(heads) != 1 || heads[0] != tc.fwd):
				t.Fatalf("the server received %q, want %q", heads, tc.fwd)
			}
			if closed != tc.closed {
				t.Errorf("client connection closed: %v, want %v", closed, tc.closed)
			}
		})
	}
}

func TestAmbiguousFramingClosesTheConnection(t *testing.T) {
	// CL.TE: chunked frames the body, the byte after it is not glued to
	// the next request, and the connection closes after the response.
	for _, in := range []string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGGET /canary HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /canary HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		rec := newRecorder(t, echoPath)
		e := start(t, cluster(srv("s1", rec.addr)))
		got, closed := rawRoundTrip(t, e.addr("fe"), in, time.Second)
		if statusOf(got) != 200 || strings.Count(got, "HTTP/1.1 ") != 1 || !closed {
			t.Fatalf("client got %q (closed %v), want one response and a close", got, closed)
		}
		if heads := rec.received(); len(heads) != 1 || strings.Contains(heads[0], "canary") {
			t.Fatalf("the server received %q", heads)
		}
	}
}

// TestResponseVectors has a server misbehave in each way and checks what
// the client gets: a 502 instead of anything ambiguous.
func TestResponseVectors(t *testing.T) {
	for _, tc := range []struct {
		name, resp string
		status     int
		want       string // a substring of what the client got
	}{
		{"bare CR injects a field", "HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"NUL in a field (stricter than HAProxy)", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"unrequested 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nxx", 502, ""},
		{"version not a digit", "HTTP/1.x 200 OK\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"first chunk size zz", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n", 502, ""},
		{"second chunk size zz", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n", 502, ""},
		{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 502, ""},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 502, ""},
		{"space in a name", "HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"status 2000", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"obs-fold unfolded", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok", 200, "X-A: a   b\r\n"},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 200, "HTTP/1.1 200 \r\n"},
		{"length and chunked: chunked", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, "\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(*http1.Head) string { return tc.resp })
			e := start(t, cluster(srv("s1", rec.addr)))
			got, _ := rawRoundTrip(t, e.addr("fe"), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", time.Second)
			if statusOf(got) != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("client got %q, want status %d with %q", got, tc.status, tc.want)
			}
			if tc.status == 502 && strings.Contains(got, "Set-Cookie") {
				t.Fatalf("an injected field reached the client: %q", got)
			}
		})
	}
}

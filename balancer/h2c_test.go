package balancer

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2cClient speaks HTTP/2 in clear text with prior knowledge.
func h2cClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
}

// rawExchange sends req on a new connection and returns what comes back
// until the server closes or a second passes.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, req)
	c.SetReadDeadline(time.Now().Add(time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

// As HAProxy 2.6: a plain HTTP frontend serves a connection that opens
// with HTTP/2's preface as HTTP/2 (h2c "off" as option
// disable-h2-upgrade, "only" as bind proto h2); an HTTP/1 request, even
// one shorter than the preface, is served as before.
func TestH2CPriorKnowledge(t *testing.T) {
	s := newSite(t, "s", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	for _, tt := range []struct {
		h2c      string
		h2, http bool
	}{{"", true, true}, {"off", false, true}, {"only", true, false}} {
		t.Run("h2c="+tt.h2c, func(t *testing.T) {
			c := cluster(srv("s", s.addr()))
			c.Frontends[0].H2C = tt.h2c
			e := start(t, c)
			resp, err := h2cClient().Get(e.url("/"))
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "HTTP/1.1" {
					t.Errorf("h2c: %s %d %q", resp.Proto, resp.StatusCode, body)
				}
			}
			if (err == nil) != tt.h2 {
				t.Errorf("h2c request: %v, want served %v", err, tt.h2)
			}
			got := rawExchange(t, e.addr("fe"), "GET / HTTP/1.0\r\n\r\n")
			if strings.HasPrefix(got, "HTTP/1.1 200") != tt.http {
				t.Errorf("a short HTTP/1.0 request: %q, want served %v", got, tt.http)
			}
		})
	}
}

// A TLS ClientHello on a clear-text HTTP port is answered 400 at once, as
// HAProxy does, not after the request timeout.
func TestClientHelloOnClearPortAnswered400AtOnce(t *testing.T) {
	s := newSite(t, "s", nil)
	e := start(t, cluster(srv("s", s.addr())))
	// rawExchange gives up after a second, far below the request timeout.
	got := rawExchange(t, e.addr("fe"), "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
	if !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("%q, want a 400 at once", got)
	}
	if s.requests.Load() != 0 {
		t.Error("the server got a request")
	}
}

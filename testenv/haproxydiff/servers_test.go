package haproxydiff

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The backend servers of the rules cases. A server's template name says
// what it is: "tls..." a TLS server (behind a TLS passthrough), "tcp..." a
// line server (mode tcp), "down..." an address nobody listens on, anything
// else an HTTP Recorder that answers as respondAs says.

// respondAs answers an HTTP request from server name. The request drives
// the response, so a case can exercise http-response rules: the status of
// "X-Respond-Status: N" (default 200) and every "X-Respond-Header: Name:
// value" as a field. The body is the request-target.
func respondAs(name string) func(Received) string {
	return func(r Received) string {
		status := 200
		var extra []string
		for _, f := range r.Head.Fields {
			switch strings.ToLower(string(f.Name)) {
			case "x-respond-status":
				if n, err := strconv.Atoi(string(f.Value)); err == nil {
					status = n
				}
			case "x-respond-header":
				extra = append(extra, string(f.Value))
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nX-Served-By: %s\r\nContent-Type: text/plain\r\n", status, reasonOf(status), name)
		for _, e := range extra {
			b.WriteString(e + "\r\n")
		}
		body := string(r.Head.Target)
		if status == 204 || status == 304 || string(r.Head.Method) == "HEAD" {
			body = ""
		}
		if status != 204 && status != 304 {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Head.Target))
		}
		b.WriteString("\r\n" + body)
		return b.String()
	}
}

func reasonOf(status int) string {
	switch status {
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	return "Whatever"
}

// lineServer is a mode tcp backend: it reads the client's first line
// (up to '\n', or what came within a second) and answers
// "NAME got "LINE"" and closes; a TLS lineServer completes the handshake
// first and answers with the name and ALPN the client sent.
type lineServer struct {
	Addr string
	name string
	tls  *tls.Config

	mu  sync.Mutex
	got []string
}

func newLineServer(t testing.TB, name string, cfg *tls.Config) *lineServer {
	t.Helper()
	s := &lineServer{name: name, tls: cfg}
	s.Addr = serveLoopback(t, s.serve)
	return s
}

func (s *lineServer) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if s.tls != nil {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			return // a health check's connect, or a client that is not TLS
		}
		st := tc.ConnectionState()
		msg := fmt.Sprintf("%s sni=%s alpn=%s", s.name, st.ServerName, st.NegotiatedProtocol)
		s.record(msg)
		fmt.Fprintf(tc, "%s\n", msg)
		return
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if line == "" && err != nil {
		return // a health check's connect
	}
	msg := fmt.Sprintf("%s got %q", s.name, line)
	s.record(msg)
	fmt.Fprintf(c, "%s\n", msg)
}

func (s *lineServer) record(msg string) {
	s.mu.Lock()
	s.got = append(s.got, msg)
	s.mu.Unlock()
}

func (s *lineServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.got
	s.got = nil
	return out
}

// siteCert is the self-signed certificate of every TLS listener of the
// cases (the balancers' TLS binds and the TLS servers), made once.
var siteCert = sync.OnceValues(func() (pemBoth []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		DNSNames:     []string{"example.com", "*.example.com", "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})...), nil
})

// serverTLS is the TLS server config of the "tls..." servers: any ALPN
// protocol the client offers first is taken.
func serverTLS(t testing.TB) *tls.Config {
	t.Helper()
	p, err := siteCert()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(p, p)
	if err != nil {
		t.Fatal(err)
	}
	base := &tls.Config{Certificates: []tls.Certificate{cert}}
	return &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		if len(h.SupportedProtos) > 0 {
			c.NextProtos = h.SupportedProtos[:1]
		}
		return c, nil
	}}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	return freeAddr(t)
}

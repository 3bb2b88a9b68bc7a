package haproxydiff

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TLS termination side by side: HAProxy 2.6 and tandem serve the same
// haproxy.cfg with several certificates, and each client (a server name
// or none, TLS versions, ALPN, a client certificate) gets the same
// handshake from both — refused or not, the version, the ALPN protocol,
// the certificate's subject and names — and the same answer, with the
// same fields reaching the server. HAProxy 2.6's configuration.txt
// sections "crt", "crt-list", "strict-sni", "ssl-min-ver", "verify",
// "ca-file", "alpn" and the ssl_fc* / ssl_c_* fetches are the spec; each
// probe also says what HAProxy must do, so a shared mistake fails too.

const tlsDiffConfig = `global
    maxconn 500
    crt-base @DIR@
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend sni
    bind @FE:sni@ ssl crt @DIR@/default.pem crt @DIR@/a.pem crt @DIR@/b.pem crt @DIR@/c.pem
    http-request set-header X-SNI %[ssl_fc_sni]
    default_backend web
frontend strict
    bind @FE:strict@ ssl crt @DIR@/default.pem crt @DIR@/a.pem crt @DIR@/b.pem strict-sni
    default_backend web
frontend list
    bind @FE:list@ ssl crt-list @DIR@/certs.list
    default_backend web
frontend minver13
    bind @FE:minver13@ ssl crt @DIR@/default.pem ssl-min-ver TLSv1.3
    default_backend web
frontend minver12
    bind @FE:minver12@ ssl crt @DIR@/default.pem ssl-min-ver TLSv1.2
    default_backend web
frontend mtls
    bind @FE:mtls@ ssl crt @DIR@/default.pem verify required ca-file @DIR@/clientca.pem
    http-request set-header X-SSL-Client-DN %[ssl_c_s_dn]
    http-request set-header X-SSL-Client-CN %[ssl_c_s_dn(cn)]
    http-request set-header X-SSL-Issuer %[ssl_c_i_dn]
    default_backend web
frontend mtlsopt
    bind @FE:mtlsopt@ ssl crt @DIR@/default.pem verify optional ca-file @DIR@/clientca.pem
    http-request set-header X-SSL-Used %[ssl_c_used]
    http-request set-header X-SSL-Verify %[ssl_c_verify]
    http-request set-header X-SSL-Client-DN %[ssl_c_s_dn] if { ssl_c_used }
    default_backend web
frontend alpn
    bind @FE:alpn@ ssl crt @DIR@/default.pem alpn h2,http/1.1
    default_backend web
frontend route
    bind @FE:plain@
    bind @FE:secure@ ssl crt @DIR@/default.pem crt @DIR@/a.pem crt @DIR@/b.pem
    http-request set-header X-TLS %[ssl_fc]
    use_backend secure if { ssl_fc } { ssl_fc_sni -i a.example.com }
    use_backend wild if { ssl_fc_sni -m end .b.example.com }
    use_backend tlsonly if { ssl_fc }
    default_backend web
backend web
    server web @SRV:web@
backend secure
    server secure @SRV:secure@
backend wild
    server wild @SRV:wild@
backend tlsonly
    server tlsonly @SRV:tlsonly@
`

// The crt-list (its paths under crt-base): the first line is the default
// certificate; a filter replaces the certificate's own names; "!"
// excludes a name.
const tlsDiffCrtList = `default.pem
a.pem alias.example.org
b.pem *.b.example.com !x.b.example.com
`

// tlsProbe is one client of one frontend.
type tlsProbe struct {
	fe       string
	plain    bool // no TLS at all
	sni      string
	min, max uint16 // TLS versions the client offers (0: Go's default)
	alpn     []string
	client   string // client certificate: "", "alice" or "stranger"
	want     string // what HAProxy's answer must contain
	dontWant string // what it must not
	what     string // why the probe is there
}

const (
	tls11 = tls.VersionTLS11
	tls12 = tls.VersionTLS12
	tls13 = tls.VersionTLS13
)

var tlsProbes = []tlsProbe{
	// SNI over four certificates: exact, any case, wildcard, one label
	// only, a wildcard's base name, the CN of a certificate that has SANs,
	// unknown and absent names get the default (the first crt).
	{fe: "sni", sni: "a.example.com", want: "cert CN=a.example.com "},
	{fe: "sni", sni: "A.Example.COM", want: "cert CN=a.example.com "},
	{fe: "sni", sni: "x.b.example.com", want: "cert CN=b.example.com ", what: "wildcard"},
	{fe: "sni", sni: "y.x.b.example.com", want: "cert CN=default.example ", what: "a wildcard covers one label"},
	{fe: "sni", sni: "b.example.com", want: "cert CN=b.example.com "},
	{fe: "sni", sni: "c.example.net", want: "cert CN=cn-only.example.net "},
	{fe: "sni", sni: "cn-only.example.net", what: "the CN of a certificate with SANs"},
	{fe: "sni", sni: "unknown.example.org", want: "cert CN=default.example "},
	{fe: "sni", want: "cert CN=default.example ", what: "no SNI"},
	{fe: "sni", sni: "a.example.com", alpn: []string{"h2", "http/1.1"}, want: "alpn= ", what: "no alpn on the bind: none negotiated"},
	// strict-sni: unknown and absent names refused.
	{fe: "strict", sni: "a.example.com", want: "cert CN=a.example.com "},
	{fe: "strict", sni: "z.b.example.com", want: "cert CN=b.example.com "},
	{fe: "strict", sni: "unknown.example.org", want: "handshake refused"},
	{fe: "strict", want: "handshake refused", what: "no SNI"},
	// crt-list filters.
	{fe: "list", sni: "alias.example.org", want: "cert CN=a.example.com "},
	{fe: "list", sni: "a.example.com", want: "cert CN=default.example ", what: "filters replace the certificate's names"},
	{fe: "list", sni: "y.b.example.com", want: "cert CN=b.example.com "},
	{fe: "list", sni: "x.b.example.com", want: "cert CN=default.example ", what: "excluded by !"},
	{fe: "list", sni: "b.example.com", want: "cert CN=default.example "},
	{fe: "list", want: "cert CN=default.example ", what: "no SNI"},
	// ssl-min-ver.
	{fe: "minver13", sni: "a.example.com", min: tls13, want: "TLS 1.3 "},
	{fe: "minver13", sni: "a.example.com", min: tls12, max: tls12, want: "handshake refused"},
	{fe: "minver12", sni: "a.example.com", min: tls12, max: tls12, want: "TLS 1.2 "},
	{fe: "minver12", sni: "a.example.com", min: tls11, max: tls11, want: "handshake refused"},
	// verify required: no certificate or a stranger's refused (TLS 1.3:
	// after the client's handshake, at the first read); alice's DN reaches
	// the server.
	{fe: "mtls", want: "closed without a response", dontWant: "server web"},
	{fe: "mtls", max: tls12, want: "handshake refused"},
	{fe: "mtls", client: "stranger", dontWant: "server web"},
	{fe: "mtls", client: "stranger", max: tls12, want: "handshake refused"},
	{fe: "mtls", client: "alice", want: "x-ssl-client-dn: /C=FR/O=Example Org/OU=Ops/CN=alice"},
	{fe: "mtls", client: "alice", max: tls12, want: "x-ssl-client-cn: alice"},
	// verify optional.
	{fe: "mtlsopt", want: "x-ssl-used: 0"},
	{fe: "mtlsopt", client: "alice", want: "x-ssl-client-dn: /C=FR/O=Example Org/OU=Ops/CN=alice"},
	{fe: "mtlsopt", client: "stranger", dontWant: "server web"},
	// ALPN.
	{fe: "alpn", alpn: []string{"h2", "http/1.1"}, want: "alpn=h2 "},
	{fe: "alpn", alpn: []string{"http/1.1", "h2"}, want: "alpn=h2 ", what: "the server's preference"},
	{fe: "alpn", alpn: []string{"http/1.1"}, want: "alpn=http/1.1 "},
	{fe: "alpn", want: "alpn= "},
	// ssl_fc and ssl_fc_sni routing (a clear-text and a TLS bind).
	{fe: "plain", plain: true, want: "x-tls: 0"},
	{fe: "secure", sni: "a.example.com", want: "server secure"},
	{fe: "secure", sni: "w.b.example.com", want: "server wild"},
	{fe: "secure", sni: "other.example.org", want: "server tlsonly"},
	{fe: "secure", want: "server tlsonly", what: "no SNI"},
}

func (p tlsProbe) String() string {
	s := "@" + p.fe
	if p.plain {
		s += " clear text"
	}
	if p.sni != "" {
		s += " sni=" + p.sni
	}
	if p.min != 0 || p.max != 0 {
		s += fmt.Sprintf(" versions=%s..%s", tls.VersionName(p.min), tls.VersionName(p.max))
	}
	if p.alpn != nil {
		s += " alpn=" + strings.Join(p.alpn, ",")
	}
	if p.client != "" {
		s += " client cert " + p.client
	}
	if p.what != "" {
		s += " (" + p.what + ")"
	}
	return s
}

func TestTLSAgainstHAProxy(t *testing.T) {
	NeedHAProxy(t)
	siteCA, clientCA, stranger := newDiffCA(t, "Diff Site CA"), newDiffCA(t, "Diff Client CA"), newDiffCA(t, "Stranger CA")
	files := map[string]string{"clientca.pem": clientCA.pem, "certs.list": tlsDiffCrtList}
	files["default.pem"], _ = siteCA.issue(t, pkix.Name{CommonName: "default.example"}, false, "default.example")
	files["a.pem"], _ = siteCA.issue(t, pkix.Name{CommonName: "a.example.com"}, false, "a.example.com")
	files["b.pem"], _ = siteCA.issue(t, pkix.Name{CommonName: "b.example.com"}, false, "b.example.com", "*.b.example.com")
	files["c.pem"], _ = siteCA.issue(t, pkix.Name{CommonName: "cn-only.example.net"}, false, "c.example.net")
	aliceName := pkix.Name{Country: []string{"FR"}, Organization: []string{"Example Org"}, OrganizationalUnit: []string{"Ops"}, CommonName: "alice"}
	_, alice := clientCA.issue(t, aliceName, true)
	_, strangerCert := stranger.issue(t, pkix.Name{CommonName: "mallory"}, true)
	clients := map[string]*tls.Certificate{"alice": &alice, "stranger": &strangerCert}

	bs := backends{http: map[string]*Recorder{}, lines: map[string]*lineServer{}}
	addrs := map[string]string{}
	for _, name := range []string{"web", "secure", "wild", "tlsonly"} {
		r := NewRecorder(t, respondAs(name))
		bs.http[name], addrs[name] = r, r.Addr
	}
	p := Start(t, Setup{Config: tlsDiffConfig, Servers: addrs, Files: files})
	for _, pr := range tlsProbes {
		h := tlsDo(p.HAProxy[pr.fe], pr, clients, bs)
		tn := tlsDo(p.Tandem[pr.fe], pr, clients, bs)
		if h != tn {
			t.Errorf("%s:\nHAProxy:\n%s\ntandem:\n%s", pr, h, tn)
		}
		if pr.want != "" && !strings.Contains(h, pr.want) {
			t.Errorf("%s: HAProxy's answer lacks %q (the probe's expectation is wrong):\n%s", pr, pr.want, h)
		}
		if pr.dontWant != "" && strings.Contains(h, pr.dontWant) {
			t.Errorf("%s: HAProxy's answer has %q:\n%s", pr, pr.dontWant, h)
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", pr, h)
		}
	}
}

// tlsDo runs probe pr against the frontend at addr and describes what the
// client got and what reached the servers.
func tlsDo(addr string, pr tlsProbe, clients map[string]*tls.Certificate, bs backends) string {
	var b strings.Builder
	raw, err := net.DialTimeout("tcp", addr, answerTimeout)
	if err != nil {
		return "connect failed"
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(answerTimeout))
	conn := raw
	host := pr.sni
	if host == "" {
		host = "localhost"
	}
	if !pr.plain {
		cfg := &tls.Config{ServerName: pr.sni, InsecureSkipVerify: true, MinVersion: pr.min, MaxVersion: pr.max, NextProtos: pr.alpn}
		if pr.min == 0 {
			cfg.MinVersion = tls12
		}
		if c := clients[pr.client]; c != nil {
			// Sent whatever CAs the server names (Go's client would
			// otherwise keep a stranger's certificate to itself).
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
		}
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			// The alert and its text depend on the TLS library; that the
			// handshake failed is what counts.
			b.WriteString("handshake refused\n")
			writeSeen(&b, bs)
			return b.String()
		}
		st := tc.ConnectionState()
		leaf := st.PeerCertificates[0]
		fmt.Fprintf(&b, "%s alpn=%s cert CN=%s SAN=%s\n", tls.VersionName(st.Version), st.NegotiatedProtocol,
			leaf.Subject.CommonName, strings.Join(leaf.DNSNames, ","))
		conn = tc
		if st.NegotiatedProtocol == "h2" {
			b.WriteString(h2Get(tc, host))
			writeSeen(&b, bs)
			return b.String()
		}
	}
	fmt.Fprintf(conn, "GET /probe HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	res := readResponse(bufio.NewReader(conn), false)
	res.seen = bs.seen()
	b.WriteString(res.String())
	return b.String()
}

func writeSeen(b *strings.Builder, bs backends) {
	seen := bs.seen()
	if len(seen) == 0 {
		b.WriteString("no server got it\n")
	}
	for _, s := range seen {
		b.WriteString("server " + s.String() + "\n")
	}
}

// h2Get sends GET /probe over an HTTP/2 connection.
func h2Get(c net.Conn, host string) string {
	// One field besides the pseudo-headers: Go's client writes the fields
	// of a request in map order, which would differ between the two.
	cc, err := (&http2.Transport{DisableCompression: true}).NewClientConn(c)
	if err != nil {
		return "h2 client: " + err.Error() + "\n"
	}
	defer cc.Close()
	req, _ := http.NewRequest("GET", "https://"+host+"/probe", nil)
	req.Header.Set("User-Agent", "probe")
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return "closed without a response\n"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("h2 status %d x-served-by: %s body %q\n", resp.StatusCode, resp.Header.Get("X-Served-By"), body)
}

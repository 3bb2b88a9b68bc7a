package health

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// A ruleset is a check as data: the connect, send and expect steps one
// check runs, in order, as HAProxy's tcpcheck.c runs tcp-check and
// http-check rules. Every kind of check (TCP connect, HTTP, tcp-check,
// http-check sequences, the protocol checks of protocols.go, the agent
// check) is a ruleset run by the one engine of engine.go.
type ruleset struct {
	proto string // "tcp-check", "http-check", "redis-check", ...: names steps in results
	steps []step
	// disable404 turns a final 404 into L7OKC (http-check disable-on-404).
	disable404 bool
	// simple: the plain HTTP or TCP check, whose results keep their short
	// form ("L7OK 200", "L4CON connection refused").
	simple bool
}

type stepKind uint8

const (
	stepConnect stepKind = iota
	stepSend
	stepExpect
)

// step is one rule. implicit steps were not written by the operator (the
// first connect, the last http expect): results do not name them.
type step struct {
	kind     stepKind
	implicit bool
	comment  string
	connect  *connectStep
	send     *sendStep
	expect   *expectStep
}

// connectStep opens the check's connection. Zero fields take the
// server's check target (connectStep.target).
type connectStep struct {
	deflt     bool // "default": the server's check options fill what is unset
	port      int
	addr      string
	tls       *tls.Config // nil: clear text (unless deflt and the server checks over TLS)
	sendProxy bool
	desc      string // "connect port 8081"
}

// sendStep writes data: fixed bytes, or a format expanded per server.
type sendStep struct {
	data   []byte
	format []config.CheckFormatPart // send-lf
	hexFmt bool                     // the format expands to hex digits
	build  func() []byte            // bytes made at send time (ssl-hello's clock)
	desc   string
}

// target is where and how one server is checked: its check address and
// TLS and PROXY options, the defaults of connect steps.
type target struct {
	host, port string // check address (check_addr, check_port or the server's own)
	tls        *tls.Config
	sendProxy  config.ProxyVersion // 0: none
	vars       map[string]string   // send formats: srv_name, be_name, srv_port, hostname
}

// newTarget is server s's check target in backend b.
func newTarget(b *config.Backend, s *config.Server) (target, error) {
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil {
		return target{}, fmt.Errorf("server address %q: %w", s.Address, err)
	}
	t := target{host: host, port: port}
	hostname, _ := os.Hostname()
	t.vars = map[string]string{"srv_name": s.Name, "be_name": b.Name, "srv_port": port, "hostname": hostname}
	moved := s.CheckAddr != "" || s.CheckPort != 0
	if s.CheckAddr != "" {
		t.host = s.CheckAddr
	}
	if s.CheckPort != 0 {
		t.port = strconv.Itoa(s.CheckPort)
	}
	if s.CheckSendProxy || s.SendProxy != config.ProxyNone && !moved {
		t.sendProxy = max(s.SendProxy, config.ProxyV1)
	}
	if ct := s.CheckTLS; ct != nil {
		t.tls, err = checkTLSConfig(ct)
		if err != nil {
			return target{}, err
		}
	}
	return t, nil
}

// checkTLSConfig is the TLS of check-ssl: verified against CAFile when one
// is given, else not verified (HAProxy "verify none").
func checkTLSConfig(ct *config.CheckTLS) (*tls.Config, error) {
	c := &tls.Config{ServerName: ct.SNI, InsecureSkipVerify: ct.CAFile == ""} //nolint:gosec // verify none, as configured
	if ct.ALPN != "" {
		c.NextProtos = strings.Split(ct.ALPN, ",")
	}
	if ct.CAFile != "" {
		pem, err := os.ReadFile(ct.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read check CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("check CA file %s holds no PEM certificate", ct.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// newRuleset compiles a backend's check (resolved and validated) into a
// ruleset. host is the Host header of the simple HTTP/1.1 check (the
// server address, as before rulesets).
func newRuleset(hc *config.HealthCheck, addr string) (*ruleset, error) {
	if hc == nil {
		return connectOnly(), nil
	}
	switch hc.Type {
	case config.CheckHTTP:
		if len(hc.Steps) == 0 {
			return simpleHTTP(hc, addr), nil
		}
		return compileSteps("http-check", hc, true)
	case config.CheckTCP:
		if len(hc.Steps) == 0 {
			return connectOnly(), nil
		}
		return compileSteps("tcp-check", hc, false)
	default:
		return protocolRuleset(hc)
	}
}

// connectOnly is the TCP check: connect, and that is all.
func connectOnly() *ruleset {
	return &ruleset{proto: "tcp-check", simple: true, steps: []step{implicitConnect()}}
}

func implicitConnect() step {
	return step{kind: stepConnect, implicit: true, connect: &connectStep{deflt: true, desc: "connect"}}
}

// simpleHTTP is "option httpchk METHOD PATH VERSION" with Host, expected
// statuses and disable-on-404: connect, send, expect status.
func simpleHTTP(hc *config.HealthCheck, addr string) *ruleset {
	ranges := []config.StatusRange{{Lo: 200, Hi: 399}}
	if len(hc.ExpectStatus) > 0 {
		ranges = ranges[:0]
		for _, c := range hc.ExpectStatus {
			ranges = append(ranges, config.StatusRange{Lo: c, Hi: c})
		}
	}
	return &ruleset{proto: "http-check", simple: true, disable404: hc.DisableOn404, steps: []step{
		implicitConnect(),
		{kind: stepSend, implicit: true, send: &sendStep{data: []byte(httpRequest(hc, addr)), desc: "send"}},
		{kind: stepExpect, implicit: true, expect: &expectStep{match: config.MatchStatus, codes: ranges, minRecv: -1, http: true,
			errStatus: "L7STS", desc: "expect status"}},
	}}
}

// httpRequest renders the simple check request, e.g. "HEAD /deploy.txt
// HTTP/1.0\r\n\r\n". HTTP/1.1 adds "Host" (the configured host, else the
// server address) and "Connection: close"; HTTP/1.0 sends Host only when
// one is configured.
func httpRequest(hc *config.HealthCheck, addr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", hc.Method, hc.Path, hc.Version)
	switch {
	case hc.Version != "HTTP/1.0":
		fmt.Fprintf(&b, "Host: %s\r\nConnection: close\r\n", orDefault(hc.Host, addr))
	case hc.Host != "":
		fmt.Fprintf(&b, "Host: %s\r\n", hc.Host)
	}
	b.WriteString("\r\n")
	return b.String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// compileSteps compiles the operator's tcp-check or http-check steps,
// adding HAProxy's implicit rules: a first connect when the ruleset does
// not start with one, and in http rulesets an "expect status 200-399"
// after a last send.
func compileSteps(proto string, hc *config.HealthCheck, http bool) (*ruleset, error) {
	rs := &ruleset{proto: proto, disable404: hc.DisableOn404}
	if hc.Steps[0].Connect == nil {
		rs.steps = append(rs.steps, implicitConnect())
	}
	for i := range hc.Steps {
		st, err := compileStep(&hc.Steps[i], http, hc)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		rs.steps = append(rs.steps, st)
	}
	if http && rs.steps[len(rs.steps)-1].kind == stepSend {
		rs.steps = append(rs.steps, step{kind: stepExpect, implicit: true, expect: &expectStep{
			match: config.MatchStatus, codes: []config.StatusRange{{Lo: 200, Hi: 399}}, minRecv: -1, http: true,
			errStatus: "L7STS", desc: "expect status 200-399"}})
	}
	return rs, nil
}

func compileStep(cs *config.CheckStep, http bool, hc *config.HealthCheck) (step, error) {
	st := step{comment: cs.Comment}
	switch {
	case cs.Connect != nil:
		st.kind, st.connect = stepConnect, compileConnect(cs.Connect)
	case cs.Send != nil:
		st.kind = stepSend
		s, err := compileSend(cs.Send, http, hc)
		if err != nil {
			return st, err
		}
		st.send = s
	case cs.Expect != nil:
		st.kind = stepExpect
		e, err := compileExpect(cs.Expect, http)
		if err != nil {
			return st, err
		}
		st.expect = e
	default:
		return st, fmt.Errorf("a step needs connect, send or expect")
	}
	return st, nil
}

func compileConnect(c *config.CheckConnect) *connectStep {
	cs := &connectStep{deflt: c.Default, port: c.Port, addr: c.Addr, sendProxy: c.SendProxy}
	if c.TLS {
		cs.tls = &tls.Config{ServerName: c.SNI, InsecureSkipVerify: true} //nolint:gosec // HAProxy checks without verify
		if c.ALPN != "" {
			cs.tls.NextProtos = strings.Split(c.ALPN, ",")
		}
	}
	var d []string
	if c.Port != 0 {
		d = append(d, "port "+strconv.Itoa(c.Port))
	}
	if c.Addr != "" {
		d = append(d, "addr "+c.Addr)
	}
	if c.TLS {
		d = append(d, "ssl")
	}
	if c.SendProxy {
		d = append(d, "send-proxy")
	}
	cs.desc = strings.TrimSpace("connect " + strings.Join(d, " "))
	return cs
}

func compileSend(s *config.CheckSend, http bool, hc *config.HealthCheck) (*sendStep, error) {
	if http {
		return &sendStep{data: []byte(httpStepRequest(s, hc)), desc: "send"}, nil
	}
	switch {
	case s.Text != "":
		return &sendStep{data: []byte(s.Text), desc: "send " + quote([]byte(s.Text))}, nil
	case s.Hex != "":
		b, err := config.DecodeHex(s.Hex)
		if err != nil {
			return nil, err
		}
		return &sendStep{data: b, desc: "send-binary " + s.Hex}, nil
	case s.Format != "":
		f, err := config.ParseCheckFormat(s.Format)
		return &sendStep{format: f, desc: "send-lf " + strconv.Quote(s.Format)}, err
	case s.HexFormat != "":
		f, err := config.ParseCheckFormat(s.HexFormat)
		return &sendStep{format: f, hexFmt: true, desc: "send-binary-lf " + s.HexFormat}, err
	}
	return nil, fmt.Errorf("send needs text, hex, format or hex_format")
}

// httpStepRequest renders an http-check send: unset method, URI and
// version come from option httpchk (HAProxy merges them with the first
// send), "Connection: close" is added unless a Connection header is
// given, Content-Length when there is a body.
func httpStepRequest(s *config.CheckSend, hc *config.HealthCheck) string {
	meth := orDefault(s.Method, orDefault(hc.Method, config.DefaultCheckMethod))
	uri := orDefault(s.URI, orDefault(hc.Path, config.DefaultCheckPath))
	ver := orDefault(s.Version, orDefault(hc.Version, config.DefaultCheckVersion))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", meth, uri, ver)
	conn := false
	for _, h := range s.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		conn = conn || strings.EqualFold(h.Name, "connection")
	}
	if !conn {
		b.WriteString("Connection: close\r\n")
	}
	if s.Body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(s.Body))
	}
	b.WriteString("\r\n")
	b.WriteString(s.Body)
	return b.String()
}

func compileExpect(e *config.CheckExpect, http bool) (*expectStep, error) {
	x := &expectStep{match: e.Match, not: e.Not, minRecv: -1, okStatus: e.OKStatus, errStatus: e.ErrorStatus,
		toutStatus: e.TimeoutStatus, onSuccess: e.OnSuccess, onError: e.OnError, http: http}
	if e.MinRecv != nil {
		x.minRecv = *e.MinRecv
	}
	neg := ""
	if e.Not {
		neg = "! "
	}
	x.desc = "expect " + neg + e.Match.String() + " " + strconv.Quote(e.Pattern)
	var err error
	switch e.Match {
	case config.MatchString:
		x.lit = []byte(e.Pattern)
	case config.MatchBinary:
		x.lit, err = config.DecodeHex(e.Pattern)
	case config.MatchRString, config.MatchRBinary, config.MatchRStatus:
		x.re, err = regexp.Compile(e.Pattern)
	case config.MatchStatus:
		x.codes, err = config.ParseStatusRanges(e.Pattern)
	default:
		err = fmt.Errorf("unknown expect match %v", e.Match)
	}
	if x.errStatus == "" {
		x.errStatus = "L7RSP"
		if e.Match == config.MatchStatus || e.Match == config.MatchRStatus {
			x.errStatus = "L7STS"
		}
	}
	return x, err
}

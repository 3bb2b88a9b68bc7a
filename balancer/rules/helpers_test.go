package rules

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// The views below are hand-written implementations of the small
// interfaces the core implements on its own HTTP/1 head (balancer/http1,
// not written yet): a head is a method, a target, a version and fields.

type head struct {
	method, target, version []byte
	status                  int
	reason                  []byte
	names, values           [][]byte
}

func newReq(method, target string, fields ...string) *head {
	h := &head{method: []byte(method), target: []byte(target), version: []byte("HTTP/1.1")}
	for _, f := range fields {
		n, v, _ := strings.Cut(f, ":")
		h.names = append(h.names, []byte(n))
		h.values = append(h.values, []byte(strings.TrimLeft(v, " ")))
	}
	return h
}

func newRes(status int, fields ...string) *head {
	h := newReq("", "", fields...)
	h.status = status
	return h
}

func (h *head) NumFields() int                 { return len(h.names) }
func (h *head) Field(i int) ([]byte, []byte)   { return h.names[i], h.values[i] }
func (h *head) Line() ([]byte, []byte, []byte) { return h.method, h.target, h.version }
func (h *head) Status() int                    { return h.status }
func (h *head) AddField(n, v []byte) {
	h.names, h.values = append(h.names, clone(n)), append(h.values, clone(v))
}
func (h *head) SetField(i int, v []byte)          { h.values[i] = clone(v) }
func (h *head) SetStatus(code int, reason []byte) { h.status, h.reason = code, clone(reason) }
func (h *head) DelField(i int) {
	h.names = append(h.names[:i], h.names[i+1:]...)
	h.values = append(h.values[:i], h.values[i+1:]...)
}
func (h *head) SetLine(m, t []byte) {
	if m != nil {
		h.method = clone(m)
	}
	if t != nil {
		h.target = clone(t)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// get returns the values of a field, joined by "|".
func (h *head) get(name string) string {
	var vs []string
	for i, n := range h.names {
		if strings.EqualFold(string(n), name) {
			vs = append(vs, string(h.values[i]))
		}
	}
	return strings.Join(vs, "|")
}

type conn struct {
	src, dst netip.AddrPort
	tls      *TLSInfo
}

func (c conn) Addrs() (netip.AddrPort, netip.AddrPort) { return c.src, c.dst }
func (c conn) TLS() (TLSInfo, bool) {
	if c.tls == nil {
		return TLSInfo{}, false
	}
	return *c.tls, true
}

var plainConn = conn{src: netip.MustParseAddrPort("192.0.2.10:40000"), dst: netip.MustParseAddrPort("127.0.0.1:80")}

type servers map[[2]int]bool

func (s servers) Usable(be int) int {
	n := 0
	for k, up := range s {
		if k[0] == be && up {
			n++
		}
	}
	return n
}
func (s servers) Up(be, srv int) bool { return s[[2]int{be, srv}] }

// compileYAML loads and validates a cluster config and compiles its rules.
func compileYAML(t testing.TB, y string) (*Program, *config.Cluster) {
	t.Helper()
	c, err := config.Load("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	p, err := Compile(c)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p, c
}

// run is one request through a frontend and the backend it chooses, the
// way the core will call the stages.
type run struct {
	verdict Verdict
	backend int
	reply   Reply
	req     *head
}

func (p *Program) serve(t testing.TB, req *head, c Conn, srv Servers) run {
	t.Helper()
	s := p.Get()
	defer p.Put(s)
	fe := p.Frontend(0)
	s.Begin(fe, nil, Input{Conn: c, Req: req, Servers: srv, Final: true})
	r := run{backend: -1, req: req}
	if r.verdict = fe.HTTPRequest(s, req); r.verdict == Respond || r.verdict == Reject {
		r.reply = copyReply(s.Reply())
		return r
	}
	be, ok := fe.UseBackend(s)
	if !ok {
		be = 0 // the tests' default_backend is the first backend
	}
	s.In.Backend = be
	r.backend = be
	if r.verdict = p.Backend(be).HTTPRequest(s, req); r.verdict == Respond || r.verdict == Reject {
		r.reply = copyReply(s.Reply())
	}
	return r
}

func copyReply(r *Reply) Reply {
	c := *r
	c.Body = clone(r.Body)
	c.Reason = clone(r.Reason)
	c.Fields = nil
	for _, f := range r.Fields {
		c.Fields = append(c.Fields, Field{clone(f.Name), clone(f.Value)})
	}
	return c
}

func (r Reply) field(name string) string {
	var vs []string
	for _, f := range r.Fields {
		if bytes.EqualFold(f.Name, []byte(name)) {
			vs = append(vs, string(f.Value))
		}
	}
	return strings.Join(vs, "|")
}

package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// benchYAML is the rules scenario of `make bench` (issue 11, item 7): 1,000
// hosts routed through a map to 10 backends, and 50 ACL and header rules.
func benchYAML() string {
	var b strings.Builder
	b.WriteString("frontends:\n  - name: web\n    bind: [\"127.0.0.1:8080\"]\n    default_backend: be0\n")
	b.WriteString("    acls:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "      api%d: path_beg /api/v%d/\n", i, i)
		fmt.Fprintf(&b, "      static%d: path_end .css%d .js%d\n", i, i, i)
		fmt.Fprintf(&b, "      www%d: hdr_beg(host) -i www%d.\n", i, i)
		fmt.Fprintf(&b, "      dom%d: hdr_dom(host) -i zone%d.example.net\n", i, i)
	}
	b.WriteString("    http_request:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "      - set-header X-Api v%d if api%d\n", i, i)
		fmt.Fprintf(&b, "      - deny if static%d www%d\n", i, i)
		fmt.Fprintf(&b, "      - add-header X-Zone z%d if dom%d\n", i, i)
		fmt.Fprintf(&b, "      - del-header X-Internal-%d if { hdr(x-internal-%d) -m found }\n", i, i)
		fmt.Fprintf(&b, "      - set-header X-Net n%d if { src 10.%d.0.0/16 } { path_beg /net%d }\n", i, i, i)
	}
	b.WriteString("    use_backend:\n      - {backend: \"%[req.hdr(host),lower,map(hosts.map,be0)]\"}\n")
	b.WriteString("backends:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "  - {name: be%d, servers: [{name: s, address: \"127.0.0.1:%d\"}]}\n", i, 1000+i)
	}
	b.WriteString("files:\n  hosts.map: |\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "    host%d.example.com be%d\n", i, i%10)
	}
	return b.String()
}

// editingHead is a request view whose edits happen as the core's do,
// into storage it keeps: reset restores the request from its template,
// so that a benchmark measures the engine, not an allocator.
type editingHead struct {
	tmpl          *head
	method        []byte
	target        []byte
	names, values [][]byte
	arena         []byte
	edits         int
}

func newEditingHead(h *head) *editingHead {
	e := &editingHead{tmpl: h, arena: make([]byte, 0, 4096)}
	e.reset()
	return e
}

func (h *editingHead) reset() {
	h.method, h.target = h.tmpl.method, h.tmpl.target
	h.names = append(h.names[:0], h.tmpl.names...)
	h.values = append(h.values[:0], h.tmpl.values...)
	h.arena = h.arena[:0]
}

func (h *editingHead) own(b []byte) []byte {
	if cap(h.arena)-len(h.arena) < len(b) {
		h.arena = make([]byte, 0, 2*cap(h.arena)+len(b))
	}
	n := len(h.arena)
	h.arena = append(h.arena, b...)
	return h.arena[n:len(h.arena):len(h.arena)]
}

func (h *editingHead) NumFields() int                 { return len(h.names) }
func (h *editingHead) Field(i int) ([]byte, []byte)   { return h.names[i], h.values[i] }
func (h *editingHead) Line() ([]byte, []byte, []byte) { return h.method, h.target, h.tmpl.version }
func (h *editingHead) AddField(n, v []byte) {
	h.edits++
	h.names, h.values = append(h.names, h.own(n)), append(h.values, h.own(v))
}
func (h *editingHead) SetField(i int, v []byte) { h.edits++; h.values[i] = h.own(v) }
func (h *editingHead) DelField(i int) {
	h.edits++
	h.names = append(h.names[:i], h.names[i+1:]...)
	h.values = append(h.values[:i], h.values[i+1:]...)
}
func (h *editingHead) SetLine(m, t []byte) {
	h.edits++
	if m != nil {
		h.method = h.own(m)
	}
	if t != nil {
		h.target = h.own(t)
	}
}

func benchRequest(p *Program, s *State, req *editingHead, c Conn) (Verdict, int) {
	req.reset()
	fe := p.Frontend(0)
	s.Begin(fe, nil, Input{Conn: c, Req: req, Final: true})
	v := fe.HTTPRequest(s, req)
	if v == Respond || v == Reject {
		return v, -1
	}
	be, ok := fe.UseBackend(s)
	if !ok {
		be = 0
	}
	s.In.Backend = be
	return p.Backend(be).HTTPRequest(s, req), be
}

// Routing through a map and str/beg/end/dom matches allocates nothing
// once the State's buffers have grown (DESIGN.md "balancer/rules").
func TestRoutingDoesNotAllocate(t *testing.T) {
	p, _ := compileYAML(t, benchYAML())
	c := &conn{src: netip.MustParseAddrPort("10.3.1.1:5000"), dst: netip.MustParseAddrPort("127.0.0.1:8080")}
	req := newEditingHead(newReq("GET", "/api/v3/users?id=1", "Host: HOST123.example.com", "User-Agent: bench", "X-Internal-4: x"))
	s := p.Get()
	defer p.Put(s)
	v, be := benchRequest(p, s, req, c)
	if v != Continue || be != 3 {
		t.Fatalf("verdict %v backend %d, want continue be3", v, be)
	}
	allocs := testing.AllocsPerRun(200, func() { benchRequest(p, s, req, c) })
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func BenchmarkRules1000HostsMap50Rules(b *testing.B) {
	p, _ := compileYAML(b, benchYAML())
	c := &conn{src: netip.MustParseAddrPort("10.3.1.1:5000"), dst: netip.MustParseAddrPort("127.0.0.1:8080")}
	tmpls := make([]*head, 64)
	for i := range tmpls {
		tmpls[i] = newReq("GET", fmt.Sprintf("/api/v%d/items/%d?q=%d", i%12, i, i),
			fmt.Sprintf("Host: host%d.example.com", i*15%1000), "User-Agent: bench/1.0", "Accept: */*",
			fmt.Sprintf("X-Internal-%d: 1", i%10))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := p.Get()
		defer p.Put(s)
		reqs := make([]*editingHead, len(tmpls)) // edited: one set per goroutine
		for i, t := range tmpls {
			reqs[i] = newEditingHead(t)
		}
		i := 0
		for pb.Next() {
			benchRequest(p, s, reqs[i%len(reqs)], c)
			i++
		}
	})
}

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

// countingHead is a request view whose edits do not allocate (they are
// counted), so that the measure is the engine's.
type countingHead struct {
	*head
	edits int
}

func (h *countingHead) AddField(n, v []byte)  { h.edits++ }
func (h *countingHead) SetField(int, []byte)  { h.edits++ }
func (h *countingHead) DelField(int)          { h.edits++ }
func (h *countingHead) SetLine(m, t []byte)   { h.edits++ }
func (h *countingHead) SetStatus(int, []byte) { h.edits++ }

func benchRequest(p *Program, s *State, req *countingHead, c Conn) (Verdict, int) {
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
	req := &countingHead{head: newReq("GET", "/api/v3/users?id=1", "Host: HOST123.example.com", "User-Agent: bench", "X-Internal-4: x")}
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
	reqs := make([]*countingHead, 64)
	for i := range reqs {
		reqs[i] = &countingHead{head: newReq("GET", fmt.Sprintf("/api/v%d/items/%d?q=%d", i%12, i, i),
			fmt.Sprintf("Host: host%d.example.com", i*15%1000), "User-Agent: bench/1.0", "Accept: */*",
			fmt.Sprintf("X-Internal-%d: 1", i%10))}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := p.Get()
		defer p.Put(s)
		i := 0
		for pb.Next() {
			benchRequest(p, s, reqs[i%len(reqs)], c)
			i++
		}
	})
}

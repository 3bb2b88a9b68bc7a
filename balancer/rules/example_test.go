package rules_test

import (
	"fmt"
	"net/netip"

	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// head is the smallest request head: the core implements these views on
// its own HTTP/1 head.
type head struct {
	method, target string
	names, values  []string
}

func (h *head) NumFields() int               { return len(h.names) }
func (h *head) Field(i int) ([]byte, []byte) { return []byte(h.names[i]), []byte(h.values[i]) }
func (h *head) Line() ([]byte, []byte, []byte) {
	return []byte(h.method), []byte(h.target), []byte("HTTP/1.1")
}
func (h *head) AddField(n, v []byte) {
	h.names, h.values = append(h.names, string(n)), append(h.values, string(v))
}
func (h *head) SetField(i int, v []byte) { h.values[i] = string(v) }
func (h *head) DelField(i int) {
	h.names, h.values = append(h.names[:i], h.names[i+1:]...), append(h.values[:i], h.values[i+1:]...)
}
func (h *head) SetLine(m, t []byte) {
	if t != nil {
		h.target = string(t)
	}
}

type client struct{ src, dst netip.AddrPort }

func (c client) Addrs() (netip.AddrPort, netip.AddrPort) { return c.src, c.dst }
func (c client) TLS() (rules.TLSInfo, bool)              { return rules.TLSInfo{}, false }

// The stages of one HTTP request, as the core calls them.
func Example() {
	c, err := config.Load("cluster.yaml", []byte(`
frontends:
  - name: web
    bind: ["127.0.0.1:8080"]
    acls: {is_api: path_beg /api}
    http_request:
      - redirect scheme https code 301 if { hdr(host) -i old.example.com }
      - set-header X-Forwarded-Proto http
    use_backend: [{backend: api, if: is_api}]
    default_backend: web
backends:
  - {name: web, servers: [{name: w1, address: 127.0.0.1:1}]}
  - {name: api, servers: [{name: a1, address: 127.0.0.1:2}], http_request: ["set-path %[path,regsub(^/api,)]"]}
`))
	if err != nil {
		panic(err)
	}
	prog, err := rules.Compile(c) // once per config version
	if err != nil {
		panic(err)
	}
	for _, req := range []*head{
		{method: "GET", target: "/api/users", names: []string{"Host"}, values: []string{"example.com"}},
		{method: "GET", target: "/x?y", names: []string{"Host"}, values: []string{"old.example.com"}},
	} {
		s := prog.Get()
		fe := prog.Frontend(0)
		s.Begin(fe, nil, rules.Input{Conn: &client{src: netip.MustParseAddrPort("192.0.2.1:5000")}, Req: req})
		if v := fe.HTTPRequest(s, req); v == rules.Respond {
			r := s.Reply()
			fmt.Println(r.Status, string(r.Fields[0].Name), string(r.Fields[0].Value))
			prog.Put(s)
			continue
		}
		be, ok := fe.UseBackend(s)
		if !ok {
			be = 0 // default_backend
		}
		s.In.Backend = be
		prog.Backend(be).HTTPRequest(s, req)
		fmt.Println(prog.Backend(be).Name(), req.target, req.names, req.values)
		prog.Put(s)
	}
	// Output:
	// api /users [Host X-Forwarded-Proto] [example.com http]
	// 301 Location https://old.example.com/x?y
}

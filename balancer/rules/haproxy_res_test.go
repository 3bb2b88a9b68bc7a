package rules

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fixedServer answers every connection with resp (HTTP) or writes resp and
// closes (TCP). It runs until the test ends.
func fixedServer(t *testing.T, resp string, http bool) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if http {
					br := bufio.NewReader(c)
					for { // read the request head
						line, err := br.ReadString('\n')
						if err != nil || line == "\r\n" {
							break
						}
					}
				}
				_, _ = io.WriteString(c, resp)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// The http-response and http-after-response rules of a backend and a
// frontend on a server's response, in HAProxy and in the engine.
func TestResponseRulesAgainstHAProxy(t *testing.T) {
	const serverResp = "HTTP/1.1 200 OK\r\nServer: Apache/2.4\r\nX-Fwd: 10.0.0.1, 1.2.3.4\r\nSet-Cookie: sid=1; path=/\r\nX-Code: 201\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	fe := []string{
		`add-header X-Order fe`,
		`set-header X-Seen %[res.hdr(x-be)]`,
		`set-status 299 reason Fine if { res.hdr(x-code) 299 }`,
	}
	be := []string{
		`add-header X-Order be`,
		`set-header X-Be %[status]`,
		`del-header Server if { res.hdr(server) -m beg Apache }`,
		`replace-value X-Fwd ^10\..* private`,
		`replace-header Set-Cookie (.*);\ path=/ \1;\ path=/;\ Secure`,
		`allow if { var(txn.path) -m str /allow }`,
		`add-header X-Order be2`,
		`deny if { var(txn.path) -m str /deny }`,
		`redirect location /moved code 301 if { var(txn.path) -m str /moved }`,
		`set-header X-Path-Len %[var(txn.plen)]`,
	}
	after := []string{`set-header X-After %[status]`, `del-header X-Code`}
	port := fixedServer(t, serverResp, true)
	ports := freePorts(t, 1)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "frontend f\n  bind 127.0.0.1:%d\n  http-request set-var(txn.plen) path,length\n  http-request set-var(txn.path) path\n", ports[0])
	for _, l := range fe {
		fmt.Fprintf(&cfg, "  http-response %s\n", l)
	}
	fmt.Fprintf(&cfg, "  http-after-response %s\n  default_backend b\nbackend b\n  server s 127.0.0.1:%d\n", after[0], port)
	for _, l := range be {
		fmt.Fprintf(&cfg, "  http-response %s\n", l)
	}
	fmt.Fprintf(&cfg, "  http-after-response %s\n", after[1])
	startHAProxy(t, cfg.String(), nil, ports[0])

	var y strings.Builder
	y.WriteString("frontends:\n  - name: f\n    bind: [\"127.0.0.1:1\"]\n    default_backend: b\n    http_request: [\"set-var(txn.plen) path,length\", \"set-var(txn.path) path\"]\n    http_response:\n")
	for _, l := range fe {
		fmt.Fprintf(&y, "      - %s\n", quoteYAML(l))
	}
	fmt.Fprintf(&y, "    http_after_response: [%s]\nbackends:\n  - name: b\n    servers: [{name: s, address: 127.0.0.1:1}]\n    http_response:\n", quoteYAML(after[0]))
	for _, l := range be {
		fmt.Fprintf(&y, "      - %s\n", quoteYAML(l))
	}
	fmt.Fprintf(&y, "    http_after_response: [%s]\n", quoteYAML(after[1]))
	p, _ := compileYAML(t, y.String())

	for _, path := range []string{"/", "/allow", "/deny", "/moved"} {
		want := haproxyResponse(t, ports[0], path)
		got := tandemResponse(t, p, path, serverResp)
		if want != got {
			t.Errorf("%s:\n haproxy: %s\n  tandem: %s", path, want, got)
		}
	}
}

var responseFields = []string{"server", "x-fwd", "set-cookie", "x-order", "x-seen", "x-be", "x-after", "x-code", "location", "x-path-len"}

func haproxyResponse(t *testing.T, port int, path string) string {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", path)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var fs []string
	for _, n := range responseFields {
		for _, v := range res.Header.Values(n) {
			fs = append(fs, n+": "+v)
		}
	}
	sort.Strings(fs)
	return fmt.Sprintf("%d %s", res.StatusCode, strings.Join(fs, " | "))
}

func tandemResponse(t *testing.T, p *Program, path, serverResp string) string {
	s := p.Get()
	defer p.Put(s)
	req := newReq("GET", path, "host: h")
	fe, be := p.Frontend(0), p.Backend(0)
	s.Begin(fe, nil, Input{Conn: &conn{src: netip.MustParseAddrPort("127.0.0.1:5")}, Req: req})
	fe.HTTPRequest(s, req)
	s.In.Backend, s.In.Server = 0, 0
	be.HTTPRequest(s, req)
	lines := strings.Split(strings.Split(serverResp, "\r\n\r\n")[0], "\r\n")
	res := newRes(200)
	for _, l := range lines[1:] {
		n, v, _ := strings.Cut(l, ": ")
		if strings.EqualFold(n, "connection") || strings.EqualFold(n, "content-length") {
			continue
		}
		res.AddField([]byte(strings.ToLower(n)), []byte(v))
	}
	s.In.Res = res
	ed := htxHead{res}
	if v := HTTPResponse(s, be, fe, ed); v == Respond {
		rp := s.Reply()
		res = newRes(rp.Status)
		for _, f := range rp.Fields {
			res.AddField([]byte(strings.ToLower(string(f.Name))), f.Value)
		}
		s.In.Res = res
		ed = htxHead{res}
	}
	HTTPAfterResponse(s, be, fe, ed)
	var fs []string
	for i, n := range res.names {
		for _, want := range responseFields {
			if string(n) == want {
				fs = append(fs, want+": "+string(res.values[i]))
			}
		}
	}
	sort.Strings(fs)
	return fmt.Sprintf("%d %s", res.status, strings.Join(fs, " | "))
}

// SNI routing of TLS passthrough in mode tcp: the backend HAProxy picks
// for a ClientHello is the one the engine picks.
func TestSNIRoutingAgainstHAProxy(t *testing.T) {
	names := []string{"web", "api", "other"}
	var srvPorts []int
	for _, n := range names {
		srvPorts = append(srvPorts, fixedServer(t, n+"\n", false))
	}
	ports := freePorts(t, 1)
	rules := []string{"inspect-delay 2s", "content accept if { req.ssl_hello_type 1 }", "content reject"}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "frontend f\n  mode tcp\n  bind 127.0.0.1:%d\n", ports[0])
	for _, r := range rules {
		fmt.Fprintf(&cfg, "  tcp-request %s\n", r)
	}
	cfg.WriteString("  use_backend api if { req.ssl_sni -i api.example.com }\n  use_backend %[req.ssl_sni,lower,map_dom(sni.map)]\n  default_backend web\n")
	for i, n := range names {
		fmt.Fprintf(&cfg, "backend %s\n  mode tcp\n  server s 127.0.0.1:%d\n", n, srvPorts[i])
	}
	files := map[string]string{"sni.map": "other.example.com other\n"}
	startHAProxy(t, cfg.String(), files, ports[0])

	p, _ := compileYAML(t, `
defaults: {mode: tcp}
frontends:
  - name: f
    bind: ["127.0.0.1:1"]
    tcp_request: ["inspect-delay 2s", "content accept if { req.ssl_hello_type 1 }", "content reject"]
    use_backend:
      - {backend: api, if: "{ req.ssl_sni -i api.example.com }"}
      - {backend: "%[req.ssl_sni,lower,map_dom(sni.map)]"}
    default_backend: web
backends:
  - {name: web, servers: [{name: s, address: 127.0.0.1:1}]}
  - {name: api, servers: [{name: s, address: 127.0.0.1:2}]}
  - {name: other, servers: [{name: s, address: 127.0.0.1:3}]}
files:
  sni.map: |
    other.example.com other
`)
	for _, sni := range []string{"API.example.com", "www.other.example.com", "none.example.org", ""} {
		hello := clientHello(t, sni)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write(hello)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		want := strings.TrimSpace(line)

		s := p.Get()
		fe := p.Frontend(0)
		s.Begin(fe, nil, Input{Payload: hello})
		got := "(rejected)"
		if v := fe.TCPContent(s); v == Accept || v == Continue {
			be, ok := fe.UseBackend(s)
			if !ok {
				be = 0
			}
			got = names[be]
		}
		p.Put(s)
		if got != want {
			t.Errorf("SNI %q: haproxy routes to %q, tandem to %q", sni, want, got)
		}
	}
}

// Userlist passwords as HAProxy (the system's crypt(3)) checks them.
func TestHTTPAuthAgainstHAProxy(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bpass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	six := "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	five := "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
	rules := []string{
		`auth realm Admins unless { http_auth(admins) }`,
		`return status 200 content-type text/plain lf-string "user=%[http_auth_user] group=%[http_auth_group(admins)]" if { http_auth_group(admins) ops }`,
		`return status 200 content-type text/plain lf-string "user=%[http_auth_user]"`,
	}
	ports := freePorts(t, 1)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "userlist admins\n  group ops users plain\n  user six password %s\n  user five password %s groups ops\n  user bc password %s\n  user plain insecure-password p\\ w\n", six, five, bc)
	fmt.Fprintf(&cfg, "frontend f\n  bind 127.0.0.1:%d\n", ports[0])
	for _, r := range rules {
		fmt.Fprintf(&cfg, "  http-request %s\n", r)
	}
	cfg.WriteString("  default_backend b\nbackend b\n  server s 127.0.0.1:1\n")
	startHAProxy(t, cfg.String(), nil, ports[0])
	var y strings.Builder
	y.WriteString("frontends:\n  - name: f\n    bind: [\"127.0.0.1:1\"]\n    default_backend: b\n    http_request:\n")
	for _, r := range rules {
		fmt.Fprintf(&y, "      - %s\n", quoteYAML(r))
	}
	fmt.Fprintf(&y, `backends:
  - {name: b, servers: [{name: s, address: 127.0.0.1:1}]}
userlists:
  - name: admins
    groups: [{name: ops, users: [plain]}]
    users:
      - {name: six, password: %q}
      - {name: five, password: %q, groups: [ops]}
      - {name: bc, password: %q}
      - {name: plain, insecure_password: "p w"}
`, six, five, string(bc))
	p, _ := compileYAML(t, y.String())
	for _, cred := range []string{"", "six:Hello world!", "six:Hello world", "five:Hello world!", "bc:bpass", "bc:bpas", "plain:p w", "plain:p", "nobody:x"} {
		raw := "GET / HTTP/1.1|Host: h"
		if cred != "" {
			raw += "|Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
		}
		want := haproxyDo(t, ports[0], raw)
		got := tandemDo(t, p, 0, "b", parseRaw(raw), &conn{})
		if got.body == "(error page)" {
			want.body = got.body
			want.fields = dropFields(want.fields, "content-type")
		}
		if want.status != got.status || want.body != got.body || strings.Join(want.fields, "|") != strings.Join(got.fields, "|") {
			t.Errorf("%q: haproxy %d %q %q, tandem %d %q %q", cred, want.status, want.body, want.fields, got.status, got.body, got.fields)
		}
	}
}

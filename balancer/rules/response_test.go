package rules

import (
	"fmt"
	"strings"
	"testing"
)

// http-response rules run backend first, then frontend; allow ends one
// section's rules; http-after-response runs after them on every response
// (http_ana.c http_process_res_common, http_eval_after_res_rules).
func TestResponseRulesOrder(t *testing.T) {
	p := prog(t, `
    use_backend: [{backend: static}]
    http_response:
      - add-header X-Order fe
      - set-header X-Seen-Be %[res.hdr(x-be)]
    http_after_response:
      - add-header X-After fe
`, `
    http_response:
      - add-header X-Order be
      - set-header X-Be 1
      - allow if { status 201 }
      - add-header X-Order be2
      - deny if { status 500 }
      - set-status 299 reason Fine if { status 202 }
    http_after_response:
      - add-header X-After be
      - del-header Server
`)
	fe, be := p.Frontend(0), p.Backend(2) // static has the rules
	for _, tc := range []struct {
		status  int
		verdict Verdict
		order   string
		newCode int
	}{
		{200, Continue, "be|be2|fe", 200},
		{201, Continue, "be|fe", 201},
		{500, Respond, "be|be2", 500},
		{202, Continue, "be|be2|fe", 299},
	} {
		s := p.Get()
		req := newReq("GET", "/")
		s.Begin(fe, nil, Input{Conn: plainConn, Req: req})
		s.In.Backend = 2
		res := newRes(tc.status, "Server: x")
		s.In.Res = res
		v := HTTPResponse(s, be, fe, res)
		if v == Respond && (s.Reply().Status != 502 || !s.Reply().ErrorPage) {
			t.Errorf("status %d: http-response deny answers %d (page %v), want the 502 page", tc.status, s.Reply().Status, s.Reply().ErrorPage)
		}
		HTTPAfterResponse(s, be, fe, res)
		if v != tc.verdict || res.get("X-Order") != tc.order || res.status != tc.newCode {
			t.Errorf("status %d: %v order %q status %d; want %v %q %d", tc.status, v, res.get("X-Order"), res.status, tc.verdict, tc.order, tc.newCode)
		}
		if res.get("X-After") != "be|fe" || res.get("Server") != "" {
			t.Errorf("status %d: after-response X-After %q Server %q", tc.status, res.get("X-After"), res.get("Server"))
		}
		if tc.verdict == Continue && res.get("X-Seen-Be") != "1" {
			t.Errorf("status %d: the frontend did not see the backend's header: %q", tc.status, res.get("X-Seen-Be"))
		}
		p.Put(s)
	}
}

// txn variables span the request and its response, req ones the request
// only, sess ones the connection (configuration.txt "set-var").
func TestVariableScopes(t *testing.T) {
	p := prog(t, `
    http_request:
      - set-var(txn.host) req.hdr(host),lower
      - set-var(req.path) path
      - set-var(sess.count) var(sess.count),add(1)
      - set-var(sess.count) int(1) unless { var(sess.count) -m found }
    http_response:
      - set-header X-Host %[var(txn.host)]
      - set-header X-Path %[var(req.path)]
      - set-header X-Count %[var(sess.count)]
`, "")
	fe := p.Frontend(0)
	sess := NewSession()
	for i, want := range []string{"1", "2", "3"} {
		s := p.Get()
		req := newReq("GET", "/p", "Host: EX.com")
		s.Begin(fe, sess, Input{Conn: plainConn, Req: req})
		fe.HTTPRequest(s, req)
		res := newRes(200)
		s.In.Res = res
		HTTPResponse(s, nil, fe, res)
		if res.get("X-Host") != "ex.com" || res.get("X-Path") != "" || res.get("X-Count") != want {
			t.Errorf("request %d: X-Host %q X-Path %q X-Count %q, want ex.com, empty, %s", i, res.get("X-Host"), res.get("X-Path"), res.get("X-Count"), want)
		}
		p.Put(s)
	}
}

func TestUseServerSkipsDownServers(t *testing.T) {
	p2, _ := compileYAML(t, `
frontends:
  - {name: f, bind: ["127.0.0.1:8080"], default_backend: b}
backends:
  - name: b
    servers: [{name: s1, address: 127.0.0.1:1}, {name: s2, address: 127.0.0.1:2}]
    use_server:
      - {server: s1, if: "{ hdr(x) 1 }"}
      - {server: s2, if: "{ hdr(x) 1 }"}
      - {server: "%[req.hdr(x-srv)]", if: "{ req.hdr(x-srv) -m found }"}
`)
	be := p2.Backend(0)
	for _, tc := range []struct {
		fields []string
		up     servers
		srv    int
		ok     bool
	}{
		{[]string{"X: 1"}, servers{{0, 0}: true, {0, 1}: true}, 0, true},
		{[]string{"X: 1"}, servers{{0, 0}: false, {0, 1}: true}, 1, true},
		{[]string{"X: 1"}, servers{}, -1, false},
		{[]string{"X-Srv: s2"}, servers{{0, 1}: true}, 1, true},
		{[]string{"X-Srv: nope"}, servers{{0, 1}: true}, -1, false},
		{nil, servers{{0, 0}: true}, -1, false},
	} {
		s := p2.Get()
		s.Begin(p2.Frontend(0), nil, Input{Req: newReq("GET", "/", tc.fields...), Servers: tc.up})
		s.In.Backend = 0
		srv, ok := be.UseServer(s)
		if srv != tc.srv || ok != tc.ok {
			t.Errorf("%q with %v: server %d %v, want %d %v", tc.fields, tc.up, srv, ok, tc.srv, tc.ok)
		}
		p2.Put(s)
	}
}

func TestNbsrvAndSrvIsUp(t *testing.T) {
	p := prog(t, `
    http_request:
      - return status 503 content-type text/plain string down if { nbsrv(api) lt 1 }
      - set-header X-A1 %[srv_is_up(app/a1)]
`, "")
	up := servers{{0, 0}: true, {1, 0}: true}
	req := newReq("GET", "/")
	if r := p.serve(t, req, plainConn, up); r.verdict == Respond || req.get("X-A1") != "1" {
		t.Errorf("api up: %v X-A1 %q", r.verdict, req.get("X-A1"))
	}
	if r := p.serve(t, newReq("GET", "/"), plainConn, servers{}); r.verdict != Respond || string(r.reply.Body) != "down" {
		t.Errorf("api down: %v %q", r.verdict, r.reply.Body)
	}
}

func TestCompileRefusesAnInvalidConfig(t *testing.T) {
	_, c := compileYAML(t, fmt.Sprintf(base, "", ""))
	c.Frontends[0].HTTPRequest = []string{"deny if nosuch"}
	if _, err := Compile(c); err == nil || !strings.Contains(err.Error(), `frontends[web].http_request[0]: unknown ACL "nosuch"`) {
		t.Errorf("Compile: %v", err)
	}
}

package rules

import (
	"net/netip"
	"testing"
)

// flatRules are the http-request rules of TestFlatConditions, with
// whether each condition compiles flat.
var flatRules = []struct {
	rule string
	flat bool
}{
	{"set-header X-1 1 if api", true},                                                                 // a grouped criterion
	{"set-header X-2 1 if api !css", true},                                                            // AND, a negation
	{"set-header X-3 1 if www || { path_end .js }", true},                                             // OR
	{"set-header X-4 1 unless either", true},                                                          // unless; an ACL of two criteria of one group
	{"set-header X-5 1 if { req.hdr(x-tag) -m found } api", true},                                     // a found test (the field index)
	{"set-header X-6 1 if across", false},                                                             // an ACL over two groups
	{"set-header X-7 1 if { path_reg ^/a } || api", false},                                            // a regex is matched by itself
	{"set-header X-8 1 if { src 10.0.0.0/8 } !{ src 10.1.0.0/16 } || { src 192.0.2.0/24 } api", true}, // networks
	{"set-header X-9 1 if { hdr(x-lone) -i alone }", false},                                           // a group of one is no group
}

const flatACLs = `
    acls:
      api: path_beg /api /v2
      www: hdr_beg(host) -i www.
      css: path_end .css
      either: [path_beg /e1, path_end .e2]
      across: [path_beg /a1, hdr_beg(host) -i a2.]
`

func flatFrontend() string {
	s := flatACLs + "    http_request:\n"
	for _, r := range flatRules {
		s += "      - " + r.rule + "\n"
	}
	return s
}

// TestFlatConditions: the conditions made of grouped criteria and found
// tests compile flat, the others do not, and each flat one answers as the
// general path does, over requests on which it both passes and fails.
func TestFlatConditions(t *testing.T) {
	p := prog(t, flatFrontend(), hostsMap)
	rs := p.Frontend(0).httpRequest
	if len(rs) != len(flatRules) {
		t.Fatalf("%d rules, want %d", len(rs), len(flatRules))
	}
	for i, r := range rs {
		if got := r.cond.flat != nil; got != flatRules[i].flat {
			t.Errorf("rule %q: flat %v, want %v", flatRules[i].rule, got, flatRules[i].flat)
		}
	}
	seen := make([]map[bool]bool, len(rs))
	for _, src := range []string{"10.1.2.3:4000", "10.9.9.9:4000", "192.0.2.7:4000"} {
		c := plainConn
		c.src = netip.MustParseAddrPort(src)
		for _, target := range []string{"/api/x.css", "/v2/y", "/e1/y", "/x.e2", "/a1", "/"} {
			for _, fields := range [][]string{{"Host: www.example.com", "X-Tag: 1"}, {"Host: a2.Example.com"}, {"Host: WWW.x", "X-Lone: ALONE"}, nil} {
				req := newReq("GET", target, fields...)
				s := p.Get()
				s.Begin(p.Frontend(0), nil, Input{Conn: c, Req: req, Final: true})
				for i, r := range rs {
					if r.cond.flat == nil {
						continue
					}
					got, ok := s.evalFlat(r.cond.flat)
					if !ok {
						t.Fatalf("rule %q: not answered flat", flatRules[i].rule)
					}
					if r.cond.unless {
						got = !got
					}
					general := *r.cond
					general.flat = nil
					if want := s.evalCond(&general) == triPass; want != got {
						t.Errorf("%s %q from %s, rule %q: flat %v, general %v", target, fields, src, flatRules[i].rule, got, want)
					}
					if seen[i] == nil {
						seen[i] = map[bool]bool{}
					}
					seen[i][got] = true
				}
				p.Put(s)
			}
		}
	}
	for i, fr := range flatRules {
		if fr.flat && len(seen[i]) != 2 {
			t.Errorf("rule %q only ever %v: the test compares one kind of answer", fr.rule, seen[i])
		}
	}
}

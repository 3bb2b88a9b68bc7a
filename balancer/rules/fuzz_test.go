package rules

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
	crules "github.com/tandem-lb/tandem/config/rules"
)

// FuzzParseClientHello: no panic; a parsed name lies inside the input;
// once a prefix parses, longer inputs parse the same, and shorter ones
// need more.
func FuzzParseClientHello(f *testing.F) {
	hello := clientHello(f, "api.example.com", "h2")
	f.Add(hello)
	f.Add(hello[:40])
	f.Add(clientHello(f, ""))
	f.Add([]byte{0x16, 3, 1, 0, 0})
	f.Add([]byte{0x15, 3, 3, 0, 2, 2, 40})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseClientHello(b)
		typ, terr := HelloType(b)
		if terr == nil && (typ < 0 || typ > 255) {
			t.Fatalf("hello type %d", typ)
		}
		for _, s := range [][]byte{h.SNI, h.ALPN} {
			if s != nil && !within(b, s) {
				t.Fatalf("slice %q outside the input", s)
			}
		}
		if err != nil {
			return
		}
		end := 9 + (int(b[6])<<16 | int(b[7])<<8 | int(b[8]))
		for n := 0; n < end && n < len(b); n++ {
			if _, err := ParseClientHello(b[:n]); err != ErrNeedMore {
				t.Fatalf("prefix %d of a hello of %d: %v", n, end, err)
			}
		}
		h2, err := ParseClientHello(append(bytes.Clone(b), 0, 1, 2))
		if err != nil || !bytes.Equal(h2.SNI, h.SNI) || !bytes.Equal(h2.ALPN, h.ALPN) {
			t.Fatalf("trailing bytes changed the result: %v", err)
		}
	})
}

func within(b, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &s[0] {
			return i+len(s) <= len(b)
		}
	}
	return false
}

// matchWord is pattern.c match_word, transcribed: the reference the
// indexed dom/dir lookup must agree with.
func matchWord(sample, pattern []byte, dom bool) bool {
	ps := pattern
	for len(ps) > 0 && isWordDelim(ps[0], dom) {
		ps = ps[1:]
	}
	for len(ps) > 0 && isWordDelim(ps[len(ps)-1], dom) {
		ps = ps[:len(ps)-1]
	}
	if len(ps) == 0 || len(ps) > len(sample) {
		return false // an empty pattern matches nothing (tandem's choice)
	}
	mayMatch := true
	for c := 0; c <= len(sample)-len(ps); c++ {
		if isWordDelim(sample[c], dom) {
			mayMatch = true
			continue
		}
		if !mayMatch {
			continue
		}
		if bytes.Equal(sample[c:c+len(ps)], ps) && (c+len(ps) == len(sample) || isWordDelim(sample[c+len(ps)], dom)) {
			return true
		}
		mayMatch = false
	}
	return false
}

// FuzzWordIndex: the hashed dom/dir index finds the same first pattern as
// checking each pattern with match_word in file order.
func FuzzWordIndex(f *testing.F) {
	f.Add([]byte("www1.dc-eu.example.com:80/blah"), []byte("dc-eu.example"), []byte(".com"), true)
	f.Add([]byte("/images/png/logo/32x32.png"), []byte("png"), []byte("images/png"), false)
	f.Add([]byte("a..b"), []byte("a..b"), []byte(".."), true)
	f.Fuzz(func(t *testing.T, sample, p1, p2 []byte, dom bool) {
		pats := []string{string(p1), string(p2)}
		x := newWordIndex(pats, dom, false)
		s := &State{}
		got := x.lookup(s, strSample(sample))
		m := crules.MatchDir
		if dom {
			m = crules.MatchDom
		}
		if small := newSmallIndex(m, pats, false).lookup(s, strSample(sample)); small != got {
			t.Fatalf("sample %q patterns %q dom=%v: hashed %d, small %d", sample, pats, dom, got, small)
		}
		want := -1
		for i, p := range pats {
			if matchWord(sample, []byte(p), dom) {
				want = i
				break
			}
		}
		if got != want {
			t.Fatalf("sample %q patterns %q dom=%v: index %d, match_word %d", sample, pats, dom, got, want)
		}
	})
}

// FuzzAffixIndex: beg gives the longest matching prefix, end the first
// matching suffix in file order, as a scan does.
func FuzzAffixIndex(f *testing.F) {
	f.Add([]byte("/api/v2/x"), []byte("/api"), []byte("/api/v2"), []byte("/"))
	f.Fuzz(func(t *testing.T, sample, a, b, c []byte) {
		pats := []string{string(a), string(b), string(c)}
		s := &State{}
		begWant, endWant := -1, -1
		for i, p := range pats {
			if bytes.HasPrefix(sample, []byte(p)) && (begWant < 0 || len(p) > len(pats[begWant])) {
				begWant = i
			}
			if bytes.HasSuffix(sample, []byte(p)) && endWant < 0 {
				endWant = i
			}
		}
		if got := newAffixIndex(pats, false, false).lookup(s, strSample(sample)); got != begWant && !(got >= 0 && begWant >= 0 && pats[got] == pats[begWant]) {
			t.Fatalf("beg %q in %q: %d, want %d", sample, pats, got, begWant)
		}
		if got := newAffixIndex(pats, true, false).lookup(s, strSample(sample)); got != endWant {
			t.Fatalf("end %q in %q: %d, want %d", sample, pats, got, endWant)
		}
		if got := newSmallIndex(crules.MatchEnd, pats, false).lookup(s, strSample(sample)); got != endWant {
			t.Fatalf("small end %q in %q: %d, want %d", sample, pats, got, endWant)
		}
		if got := newSmallIndex(crules.MatchBeg, pats, false).lookup(s, strSample(sample)); got != begWant && !(got >= 0 && begWant >= 0 && pats[got] == pats[begWant]) {
			t.Fatalf("small beg %q in %q: %d, want %d", sample, pats, got, begWant)
		}
	})
}

// FuzzRequestRules runs a program with every kind of rule over fuzzed
// request lines and fields: no panic, and the results keep their shape.
func FuzzRequestRules(f *testing.F) {
	f.Add("GET", "/api/x?a=1&b=2", "example.com", "a=1; sess=2", "10.0.0.1, 10.0.0.2")
	f.Add("POST", "http://h:8080/p;jsessionid=1?q", "H:1", "", "")
	f.Add("GET", "*", "", "=;=;", ",,,")
	f.Add("CONNECT", "h:443", "[::1]:8080", "x", "\"a,b\", c")
	p, _ := compileYAML(f, fmt.Sprintf(base, `
    acls:
      api: path_beg /api
    http_request:
      - set-header X-Host %[req.hdr(host),lower,host_only]
      - set-var(txn.c) req.cook(sess),url_dec
      - replace-value X-Fwd ^10\.(.*) \1
      - set-path /v2%[path] if api
      - set-query %[query]&z=%[urlp(a)]
      - replace-uri ^(.*)$ \1
      - add-header X-B %[base,regsub(/,-,g)]
      - redirect scheme https code 301 if { hdr_dom(host) -i redirect.me }
      - deny if { url_param(deny) -m found }
    use_backend:
      - {backend: "%[req.hdr(host),map_dom(hosts.map)]"}
`, hostsMap))
	f.Fuzz(func(t *testing.T, method, target, host, cookie, fwd string) {
		req := newReq(method, target, "Host: "+host, "Cookie: "+cookie, "X-Fwd: "+fwd)
		r := p.serve(t, req, plainConn, nil)
		if r.verdict == Respond && r.reply.Status == 301 && !bytes.HasPrefix([]byte(r.reply.field("Location")), []byte("https://")) {
			t.Fatalf("scheme redirect to %q", r.reply.field("Location"))
		}
		if r.verdict != Respond && r.verdict != Continue && r.verdict != Accept {
			t.Fatalf("verdict %v", r.verdict)
		}
	})
}

// FuzzIPIndex: the trie and the direct check agree, both IPv4 and IPv6,
// with the families mixed (configuration.txt 7.1.6).
func FuzzIPIndex(f *testing.F) {
	f.Add([]byte{10, 1, 2, 3}, []byte{10, 0, 0, 0}, uint8(8), []byte{0x20, 0x02, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint8(16))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}, []byte{192, 0, 2, 0}, uint8(24), []byte{1, 2, 3, 4}, uint8(32))
	f.Fuzz(func(t *testing.T, addr, n1 []byte, b1 uint8, n2 []byte, b2 uint8) {
		a, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		var pats []crules.Pattern
		for _, n := range []struct {
			b    []byte
			bits uint8
		}{{n1, b1}, {n2, b2}} {
			na, ok := netip.AddrFromSlice(n.b)
			if !ok {
				return
			}
			p, err := na.Prefix(int(n.bits) % (na.BitLen() + 1))
			if err != nil {
				return
			}
			pats = append(pats, crules.Pattern{Prefix: p})
		}
		trie := newIPIndex()
		small := &smallIPIndex{}
		for i, p := range pats {
			trie.insert(p.Prefix, int32(i))
			small.nets = append(small.nets, p.Prefix)
		}
		smp := sample{t: crules.TypeAddr, a: a}
		g1, g2 := trie.lookup(nil, smp), small.lookup(nil, smp)
		if g1 != g2 && !(g1 >= 0 && g2 >= 0 && pats[g1].Prefix == pats[g2].Prefix) {
			t.Fatalf("%v in %v: trie %d, direct %d", a, pats, g1, g2)
		}
	})
}

// FuzzMemoAgreesWithPlain: the optimised engine (memoised fetches,
// grouped criteria, the field index) answers every request exactly as the
// same rules compiled without them, over rules that read what earlier
// rules changed.
func FuzzMemoAgreesWithPlain(f *testing.F) {
	f.Add("GET", "/api/x.css?a=1", "www.Example.com", "a, b", "x=1", "10.0.0.1")
	f.Add("POST", "http://h/v2/p", "h:81", "", "", "")
	f.Add("GET", "/", "", "b", "x", "::1, 10.1.1.1")
	f.Add("HEAD", "/static/a.js", "static.example.com", "a,b,c", "drop", "192.0.2.1")
	f.Add("GET", "/e1/x.e2", "a2.www.example.com", "", "", "")
	f.Add("GET", "/a1/x.css", "www.example.com", "t", "", "")
	y := fmt.Sprintf(base, `
    acls:
      api: path_beg /api /v2
      www: hdr_beg(host) -i www.
      css: path_end .css .js
      either: [path_beg /e1, path_end .e2]
      across: [path_beg /a1, hdr_beg(host) -i a2.]
    http_request:
      - set-header X-Was-Api 1 if api
      - set-header X-Tag %[req.hdr(x-tag)]-seen if { req.hdr(x-tag) -m found }
      - set-header X-Has-B 1 if { req.hdr(x-tag) b }
      - add-header X-Tag late if www
      - set-header X-Count %[req.hdr_cnt(x-tag)]
      - del-header X-Drop if { req.hdr(x-drop) -m sub drop }
      - set-header X-Dropped 1 unless { req.hdr(x-drop) -m found }
      - set-path /v2%[path] if api !{ path_beg /v2 }
      - set-header X-Now-Api 1 if api css
      - replace-header Host ^www\.(.*)$ \1
      - set-header X-Www-After 1 if www || { hdr(host) -i example.com }
      - del-header X-Tag- -m beg
      - set-header X-Src 1 if { req.hdr_ip(x-ip) 10.0.0.0/8 ::1 }
      - add-header X-Last %[req.hdr(x-tag)]
      - add-header X-Dom 1 if { hdr_dom(host) -i example.com } || { hdr_dom(host) corp }
      - add-header X-Dir 1 if { path_dir v2 } || { path_dir -i STATIC }
      - add-header X-Either 1 if either !www || css either
      - add-header X-Across 1 unless across || !{ src 10.0.0.0/8 } api
      - add-header X-Found 1 if { req.hdr(x-tag) -m found } !{ req.hdr(x-drop) -m found } || www
    use_backend:
      - {backend: api, if: "{ req.hdr(x-now-api) -m found }"}
      - {backend: "%[req.hdr(host),lower,map_dom(hosts.map)]"}
`, hostsMap)
	c, err := config.Load("test.yaml", []byte(y))
	if err != nil {
		f.Fatal(err)
	}
	fast, err := Compile(c)
	if err != nil {
		f.Fatal(err)
	}
	plain, err := compile(c, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, host, tag, drop, ip string) {
		mk := func() *head {
			return newReq(method, target, "Host: "+host, "X-Tag: "+tag, "X-Drop: "+drop, "X-Ip: "+ip, "X-Tag-Extra: "+tag)
		}
		a, b := fast.serve(t, mk(), plainConn, nil), plain.serve(t, mk(), plainConn, nil)
		if a.verdict != b.verdict || a.backend != b.backend {
			t.Fatalf("optimised %v to %d, plain %v to %d", a.verdict, a.backend, b.verdict, b.backend)
		}
		if d := cmp.Diff(b.req, a.req, cmp.AllowUnexported(head{})); d != "" {
			t.Fatalf("the request differs (-plain +optimised):\n%s", d)
		}
	})
}

package haproxydiff

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// minCases is issue 11's bar for the rules cases (item 6).
const minCases = 40

// TestRulesAgainstHAProxy runs every case of testdata: Debian's HAProxy
// and tandem serve the case's haproxy.cfg on the same backends, each gets
// every request of the case's set, and they must agree on what the client
// got (status, fields, body; none: a closed connection) and on what
// reached which server. The only differences accepted are those the
// README lists, recognised exactly (deliberate).
func TestRulesAgainstHAProxy(t *testing.T) {
	cases, err := readCases("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < minCases {
		t.Errorf("%d rules cases in testdata, want at least %d", len(cases), minCases)
	}
	NeedHAProxy(t)
	for _, c := range cases {
		if only := os.Getenv("RULES_CASE"); only != "" && !strings.Contains(c.name, only) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c)
		})
	}
}

var srvRE = regexp.MustCompile(`@SRV:([A-Za-z0-9_.-]+)@`)

func runCase(t *testing.T, c *caseFile) {
	reqs, err := c.requests()
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	bs := backends{http: map[string]*Recorder{}, lines: map[string]*lineServer{}}
	addrs := map[string]string{}
	for _, m := range srvRE.FindAllStringSubmatch(c.config, -1) {
		name := m[1]
		if _, ok := addrs[name]; ok {
			continue
		}
		switch {
		case strings.HasPrefix(name, "tls"):
			s := newLineServer(t, name, serverTLS(t))
			bs.lines[name], addrs[name] = s, s.Addr
		case strings.HasPrefix(name, "tcp"):
			s := newLineServer(t, name, nil)
			bs.lines[name], addrs[name] = s, s.Addr
		case strings.HasPrefix(name, "down"):
			addrs[name] = closedAddr(t)
		default:
			r := NewRecorder(t, respondAs(name))
			bs.http[name], addrs[name] = r, r.Addr
		}
	}
	files := map[string]string{}
	for n, f := range c.files {
		files[n] = f
	}
	pemBoth, err := siteCert()
	if err != nil {
		t.Fatal(err)
	}
	files["site.pem"] = string(pemBoth)
	p := Start(t, Setup{Config: c.config, Servers: addrs, Files: files})
	forwardFor := forwardForOf(p.Config, p.Tandem, addrs)
	var notes []string
	for _, r := range reqs {
		ha, ok := p.HAProxy[r.fe]
		if !ok {
			t.Fatalf("line %d: no frontend @FE:%s@ in the config", r.line, r.fe)
		}
		h := do(ha, r, bs)
		tn := do(p.Tandem[r.fe], r, bs)
		deliberate(forwardFor, r.fe, &h, &tn)
		if hs, ts := h.String(), tn.String(); hs != ts {
			t.Errorf("%s:%d: %s\nHAProxy:\n%s\ntandem:\n%s", c.name, r.line, r.describe, hs, ts)
		}
		if os.Getenv("RULES_SHOW") != "" {
			t.Logf("%s:%d: %s\n%s", c.name, r.line, r.describe, h)
		}
		if h.note != "" {
			notes = append(notes, strings.Split(h.note, ", ")...)
		}
	}
	sort.Strings(notes)
	notes = compactStrings(notes)
	t.Logf("%d requests agree; deliberate differences seen: %q", len(reqs), notes)
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

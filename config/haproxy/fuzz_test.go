package haproxy

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tandem-lb/tandem/config"
)

// sampleArgs are valid arguments of the mapped keywords, for seeds.
var sampleArgs = map[string]string{
	"acl": "a path /a", "balance": "roundrobin", "bind": ":80 accept-proxy", "cookie": "SRV insert indirect nocache",
	"default-server": "check inter 2s rise 2 fall 3", "default_backend": "b", "disabled": "", "enabled": "",
	"errorfile": "503 /etc/haproxy/503.http", "errorfiles": "site 503", "http-error": "status 503 content-type text/plain string down",
	"http-after-response": "set-header X-A 1",
	"http-request":        "set-header X-A 1 if a", "http-response": "del-header Server", "http-reuse": "safe",
	"maxconn": "100", "mode": "http", "redirect": "scheme https code 301 if !{ ssl_fc }", "retries": "3",
	"retry-on": "conn-failure", "server": "s 10.0.0.1:80 check cookie s port 8008 addr 10.0.0.9 agent-check agent-port 9999 observe layer4 error-limit 3 on-error mark-down on-marked-down shutdown-sessions send-proxy-v2 proxy-v2-options authority check-ssl verify none", "stats": "enable", "stick": "on src",
	"stick-table": "type ip size 1k expire 1m", "tcp-request": "content accept if { src 10.0.0.0/8 }",
	"timeout": "client 5s", "use_backend": "b if { path /b }", "use-server": "s if { path /s }",
	"option httpchk": "GET /health", "option forwardfor": "", "option redispatch": "",
	"option http-restrict-req-hdr-names": "preserve", "http-check expect": "status 200",
	"http-check send": "meth GET uri / ver HTTP/1.1 hdr Host a", "http-check disable-on-404": "",
	"tcp-request inspect-delay": "5s", "tcp-request connection": "accept", "tcp-request session": "accept",
	"tcp-request content": "accept",
	"tcp-check connect":   "port 6379 send-proxy", "tcp-check send": `info\ replication\r\n`,
	"tcp-check send-binary": "50494e47", "tcp-check send-lf": "%[srv_name]", "tcp-check send-binary-lf": "%[srv_port]",
	"tcp-check expect": "! rstring ^-ERR", "tcp-check comment": "ping", "http-check connect": "port 8080",
	"http-check comment": "health", "option mysql-check": "user haproxy", "option pgsql-check": "user postgres",
	"option smtpchk": "EHLO mx.example.com", "option tcp-check": "", "option redis-check": "",
	"option ldap-check": "", "option ssl-hello-chk": "",
}

// everyDirective lists one line per keyword of the classification tables,
// in a stable order: mapped ones with valid arguments, the others with
// one value.
func everyDirective() []string {
	var lines []string
	add := func(name string, kw keyword) {
		args, ok := sampleArgs[name]
		if !ok && kw.class == mapped {
			if sub, rest, found := strings.Cut(name, " "); found {
				args = sampleArgs[sub] + rest
			}
		}
		if !ok && kw.class != mapped {
			args = "5s"
		}
		lines = append(lines, strings.TrimSpace(name+" "+args))
	}
	for name, kw := range keywords {
		add(name, kw)
	}
	for table, rows := range subKeywords {
		for name, kw := range rows {
			if _, ok := sampleArgs[table+" "+name]; ok || kw.class != mapped {
				add(table+" "+name, kw)
			} else {
				lines = append(lines, table+" "+name+" 5s")
			}
		}
	}
	for name := range statsKeywords {
		lines = append(lines, "stats "+name)
	}
	sort.Strings(lines)
	return lines
}

// sectionSeeds put every directive into each kind of section: frontend,
// backend, listen, an anonymous defaults and a named defaults section
// that a frontend and a backend take with "from".
func sectionSeeds() [][]byte {
	body := "  " + strings.Join(everyDirective(), "\n  ") + "\n"
	servers := "  server s 10.0.0.1:80 check\n"
	tail := "http-errors site\n  errorfile 503 /etc/haproxy/503.http\nbackend b\n" + servers
	return [][]byte{
		[]byte("frontend f\n" + body + tail),
		[]byte("backend b2\n" + body + "frontend f\n  bind :80\n  default_backend b2\n" + tail),
		[]byte("listen l\n" + body + tail),
		[]byte("defaults\n" + body + "frontend f\n  bind :80\n  default_backend b\n" + tail),
		[]byte("defaults named\n" + body + "frontend f from named\n  bind :80\n  default_backend b\nbackend b from named\n" + servers + "http-errors site\n"),
	}
}

// FuzzParse checks the importer's invariants on any input: no panic; every
// error and warning names the file and a line; an error comes without a
// cluster; an imported config validates and comes back the same from its
// YAML; --lenient imports at least what a strict import does, the same way,
// and never reports a translation error on a line a strict import finds fine.
func FuzzParse(f *testing.F) {
	f.Add(readArticle(f))
	for _, s := range sectionSeeds() {
		f.Add(s)
	}
	for _, tc := range directiveCases {
		f.Add([]byte(tc.cfg))
	}
	for _, tc := range badCases {
		f.Add([]byte(tc.cfg))
	}
	for _, tc := range rulesCases {
		f.Add([]byte(tc.cfg))
	}
	for _, tc := range condCases {
		f.Add([]byte("global\n.if " + tc.cond + "\n .notice x\n.else\nfrontend f\n.endif\n"))
	}
	corpus, _ := filepath.Glob("testdata/corpus/*.cfg")
	for _, name := range corpus {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Looks(data)
		opts := Options{Env: condEnv, Files: fileOpts().Files}
		strict := checkParse(t, data, opts)
		opts.Lenient = true
		lenient := checkParse(t, data, opts)
		if strict.c != nil && (lenient.c == nil || !cmp.Equal(strict.c, lenient.c, cmpopts.EquateEmpty())) {
			t.Errorf("--lenient changed an import that succeeded strictly:\n%s", cmp.Diff(strict.c, lenient.c, cmpopts.EquateEmpty()))
		}
		for _, e := range lenient.errs {
			// Validation errors (they have a path) come only once the
			// translation succeeded, which --lenient may let happen.
			if e.Path == "" && !strict.errLines[e.Line] {
				t.Errorf("--lenient reported an error on a line a strict import finds none: %v", e)
			}
		}
	})
}

type parseResult struct {
	c        *config.Cluster
	errs     config.Errors
	errLines map[int]bool
}

func checkParse(t *testing.T, data []byte, opts Options) parseResult {
	c, warns, err := Parse("f.cfg", data, opts)
	lines := strings.Count(string(data), "\n") + 1
	for _, w := range warns {
		if w.File != "f.cfg" || w.Line <= 0 || w.Line > lines {
			t.Errorf("warning without a line of the file: %#v", w)
		}
	}
	r := parseResult{c: c, errLines: map[int]bool{}}
	if err != nil {
		if !errors.As(err, &r.errs) || len(r.errs) == 0 {
			t.Fatalf("error is %T %v, want non-empty config.Errors", err, err)
		}
		for _, e := range r.errs {
			if e.File != "f.cfg" || e.Line <= 0 || e.Line > lines {
				t.Errorf("error without a line of the file: %#v", e)
			}
			r.errLines[e.Line] = true
		}
		if c != nil {
			t.Error("a cluster returned with an error")
		}
		return r
	}
	if c == nil {
		t.Fatal("nil cluster without an error")
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("an imported config does not validate: %v", err)
	}
	checkRoundTrip(t, c)
	c.Resolve()
	return r
}

// FuzzCrtList checks that every crt-list parses or fails with a line
// number, and that what parses reads back the same when written out.
func FuzzCrtList(f *testing.F) {
	for _, s := range []string{
		"", "# comment\n\n", "a.pem\n", "a.pem\r\n", " \ta.pem www.example.com *.example.com !old.example.com\n",
		"a.pem [alpn h2 ssl-min-ver TLSv1.2] a.example.com\n", "a.pem [ verify none ]\n", "a.pem [alpn h2\n",
		"a.pem [a [b]]\n", "a[1].pem\n", "a.pem !\n", "a.pem x/y\n", "a.pem\x00\n", "a.pem [x] ] y\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		entries, err := parseCrtList(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, e := range entries {
			if e.Cert == "" || strings.ContainsAny(e.Cert, "[] \t") {
				t.Fatalf("certificate %q", e.Cert)
			}
			b.WriteString(e.Cert)
			if len(e.Options) > 0 {
				b.WriteString(" [" + strings.Join(e.Options, " ") + "]")
			}
			for _, fl := range e.Filters {
				if strings.TrimPrefix(fl, "!") == "" {
					t.Fatalf("empty filter in %q", data)
				}
				b.WriteString(" " + fl)
			}
			b.WriteString("\n")
		}
		again, err := parseCrtList(b.String())
		if err != nil {
			t.Fatalf("written back %q: %v", b.String(), err)
		}
		for i := range again {
			again[i].Line = entries[i].Line
		}
		if diff := cmp.Diff(entries, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("read back differs (-first +again):\n%s", diff)
		}
	})
}

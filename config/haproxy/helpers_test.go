package haproxy

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func dur(d time.Duration) config.Duration { return config.Duration(d) }

// translateCfg runs the importer without config.Validate, for tests of
// single directives: the cluster, the warnings and the errors.
func translateCfg(cfg string, opts Options) (*config.Cluster, []Warning, config.Errors) {
	p := newParser("t.cfg", opts)
	c := p.translate([]byte(cfg))
	w, e := p.results()
	return c, w, e
}

// testFiles is the file system of the unit tests, as "/".
var testFiles = fstest.MapFS{
	"etc/haproxy/hosts.map":          {Data: []byte("a.example.com be_a\n")},
	"etc/haproxy/bad.lst":            {Data: []byte("192.0.2.0/24\n")},
	"etc/haproxy/503.http":           {Data: []byte("HTTP/1.0 503 Service Unavailable\r\n\r\nsorry\n")},
	"etc/haproxy/certs/one/a.pem":    {Data: []byte("cert")},
	"etc/haproxy/certs/two/a.pem":    {Data: []byte("cert")},
	"etc/haproxy/certs/two/b.pem":    {Data: []byte("cert")},
	"etc/haproxy/certs/k/s.pem":      {Data: []byte("cert")},
	"etc/haproxy/certs/k/s.pem.key":  {Data: []byte("key")},
	"etc/haproxy/certs/k/s.pem.ocsp": {Data: []byte("ocsp")},
	"etc/haproxy/certs/k/.hidden":    {Data: []byte("x")},
	"etc/haproxy/certs/empty/x.key":  {Data: []byte("key")},
}

func fileOpts() Options { return Options{Files: FromFS(testFiles, "/etc/haproxy")} }

// listenCfg is a listen section whose given lines start at line 3.
func listenCfg(lines ...string) string {
	return "listen l\n  bind :80\n  " + strings.Join(lines, "\n  ") + "\n"
}

// backendCfg is a backend section whose given lines start at line 2.
func backendCfg(lines ...string) string {
	return "backend b\n  " + strings.Join(lines, "\n  ") + "\n"
}

// httpCfg is a frontend f (mode http, lines from line 4) routing to backend b.
func httpCfg(lines ...string) string {
	return "defaults\n  mode http\nfrontend f\n  " + strings.Join(append(lines, "default_backend b"), "\n  ") +
		"\n  bind :80\nbackend b\n  server s 10.0.0.1:80\n"
}

func fe0(c *config.Cluster) *config.Frontend { return &c.Frontends[0] }
func be0(c *config.Cluster) *config.Backend  { return &c.Backends[0] }
func srv0(c *config.Cluster) config.Server   { return c.Backends[0].Servers[0] }

func warnStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func errStrings(es config.Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// checkPrefixes wants exactly len(want) messages, the i-th starting with
// "t.cfg:" + want[i], "warning: " put after the line number for warnings.
func checkPrefixes(t *testing.T, what string, got []string, want []string, warning bool) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		num, msg, _ := strings.Cut(want[i], ": ")
		prefix := fmt.Sprintf("t.cfg:%s: %s", num, msg)
		if warning {
			prefix = fmt.Sprintf("t.cfg:%s: warning: %s", num, msg)
		}
		ok = strings.HasPrefix(got[i], prefix)
	}
	if !ok {
		t.Errorf("%s:\n  %s\nwant (prefixes):\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

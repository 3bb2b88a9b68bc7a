package haproxy

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// tlsFiles is the file system of the TLS import tests, as "/".
var tlsFiles = fstest.MapFS{
	"etc/haproxy/certs/one/a.pem":             {Data: []byte("cert")},
	"etc/haproxy/certs/two/a.pem":             {Data: []byte("cert")},
	"etc/haproxy/certs/two/b.pem":             {Data: []byte("cert")},
	"etc/haproxy/certs/two/b.pem.key":         {Data: []byte("key")},
	"etc/haproxy/certs/two/b.pem.ocsp":        {Data: []byte("ocsp")},
	"etc/haproxy/certs/two/.hidden":           {Data: []byte("x")},
	"etc/haproxy/certs/bundle/site.pem.rsa":   {Data: []byte("cert")},
	"etc/haproxy/certs/bundle/site.pem.ecdsa": {Data: []byte("cert")},
	"etc/haproxy/other/a.pem":                 {Data: []byte("cert")},
	"etc/haproxy/list.txt": {Data: []byte("# the sites\n\none/a.pem\ntwo/b.pem www.example.com *.api.example.com\n" +
		"\t/etc/haproxy/other/a.pem !old.example.com\n")},
	"etc/haproxy/opts.txt":     {Data: []byte("one/a.pem [alpn h2 ssl-min-ver TLSv1.3] a.example.com\n")},
	"etc/haproxy/bad.txt":      {Data: []byte("one/a.pem [alpn h2\n")},
	"etc/haproxy/mixed.txt":    {Data: []byte("one/a.pem\none/a.pem a.example.com\n")},
	"etc/haproxy/ca/ca.pem":    {Data: []byte("-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n")},
	"etc/haproxy/ca/crl.pem":   {Data: []byte("-----BEGIN X509 CRL-----\nC\n-----END X509 CRL-----\n")},
	"etc/haproxy/cadir/1.pem":  {Data: []byte("one")},
	"etc/haproxy/cadir/2.crt":  {Data: []byte("two\n")},
	"etc/haproxy/cadir/README": {Data: []byte("not a CA")},
}

func tlsOpts() Options { return Options{Files: FromFS(tlsFiles, "/etc/haproxy")} }

// tlsCfg is a mode http frontend with one bind line (line 5) and the
// given global lines.
func tlsCfg(global, bind string, more ...string) string {
	return "global\n crt-base /etc/haproxy/certs\n" + global + "defaults\n mode http\nfrontend f\n bind " + bind + "\n " +
		strings.Join(append(more, "timeout client 1s", "default_backend b"), "\n ") + "\n" +
		"backend b\n server s 10.0.0.1:80\n timeout connect 1s\n timeout server 1s\n"
}

func TestBindTLSImport(t *testing.T) {
	noALPN := []string{config.NoALPN}
	tests := []struct {
		name         string
		global, bind string
		more         []string
		opts         Options
		want         *config.TLS
		files        []string // names in the cluster's files
		warns, errs  []string
	}{
		{name: "one crt, HAProxy 2.6's no ALPN", bind: ":443 ssl crt one/a.pem",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, ALPN: noALPN}},
		{name: "crt directory: its files in order, extra and dot files skipped", bind: ":443 ssl crt two alpn h2,http/1.1",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/two/a.pem", "/etc/haproxy/certs/two/b.pem"}, ALPN: []string{"h2", "http/1.1"}}},
		{name: "several crt", bind: ":443 ssl crt one/a.pem crt two/b.pem no-alpn",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem", "/etc/haproxy/certs/two/b.pem"}, ALPN: noALPN}},
		{name: "bundle", bind: ":443 ssl crt bundle/site.pem alpn h2",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/bundle/site.pem.rsa", "/etc/haproxy/certs/bundle/site.pem.ecdsa"}, ALPN: []string{"h2"}}},
		{name: "crt-list with SNI filters, crt-base for its entries", bind: ":443 ssl crt-list list.txt strict-sni",
			want: &config.TLS{
				Certificates: []string{"/etc/haproxy/certs/one/a.pem", "/etc/haproxy/certs/two/b.pem", "/etc/haproxy/other/a.pem"},
				SNI: []config.SNIFilter{{Certificate: "/etc/haproxy/certs/two/b.pem", Names: []string{"www.example.com", "*.api.example.com"}},
					{Certificate: "/etc/haproxy/other/a.pem", Names: []string{"!old.example.com"}}},
				StrictSNI: true, ALPN: noALPN}},
		{name: "versions, tickets and ciphers from ssl-default-bind-*",
			global: " ssl-default-bind-options ssl-min-ver TLSv1.1 no-tls-tickets prefer-client-ciphers\n ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\n ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\n ssl-default-bind-curves X25519:P-256\n",
			bind:   ":443 ssl crt one/a.pem",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, MinVersion: "TLSv1.1", NoTickets: true,
				Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", CipherSuites: "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
				Curves: "X25519:P-256", ALPN: noALPN},
			warns: []string{"3: 'ssl-default-bind-options prefer-client-ciphers' ignored"}},
		{name: "a bind's options over the defaults", global: " ssl-default-bind-options ssl-min-ver TLSv1.2\n",
			bind: ":443 ssl crt one/a.pem ssl-min-ver TLSv1.3 ecdhe secp384r1",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, MinVersion: "TLSv1.3", Curves: "secp384r1", ALPN: noALPN}},
		{name: "no-tlsv13", bind: ":443 ssl crt one/a.pem no-tlsv13",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, MaxVersion: "TLSv1.2", ALPN: noALPN}},
		{name: "force-tlsv11", bind: ":443 ssl crt one/a.pem force-tlsv11",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, MinVersion: "TLSv1.1", MaxVersion: "TLSv1.1", ALPN: noALPN}},
		{name: "a hole keeps the lower versions", bind: ":443 ssl crt one/a.pem ssl-min-ver TLSv1.0 no-tlsv11",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, MinVersion: "TLSv1.0", MaxVersion: "TLSv1.0", ALPN: noALPN}},
		{name: "client certificates with ca-base", global: " ca-base /etc/haproxy/ca\n",
			bind: ":443 ssl crt one/a.pem verify required ca-file ca.pem crl-file crl.pem",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, ALPN: noALPN,
				ClientAuth: &config.ClientAuth{Verify: "required", CA: "/etc/haproxy/ca/ca.pem", CRL: "/etc/haproxy/ca/crl.pem"}},
			files: []string{"/etc/haproxy/ca/ca.pem", "/etc/haproxy/ca/crl.pem"}},
		{name: "a CA directory", bind: ":443 ssl crt one/a.pem verify optional ca-file cadir",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, ALPN: noALPN,
				ClientAuth: &config.ClientAuth{Verify: "optional", CA: "cadir/"}},
			files: []string{"cadir/"}},
		{name: "verify none: the CA file asks for nothing", bind: ":443 ssl crt one/a.pem ca-file ca/ca.pem",
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, ALPN: noALPN}},
		{name: "identical ssl binds", bind: ":443 ssl crt one/a.pem", more: []string{"bind :8443 ssl crt one/a.pem"},
			want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, ALPN: noALPN}},
		{name: "lenient: ciphers Go lacks are dropped", bind: ":443 ssl crt one/a.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
			opts: Options{Lenient: true}, want: &config.TLS{Certificates: []string{"/etc/haproxy/certs/one/a.pem"}, Ciphers: "ECDHE-RSA-AES128-GCM-SHA256", ALPN: noALPN},
			warns: []string{"6: --lenient: bind: ciphers: cipher suites Go's crypto/tls does not implement (or OpenSSL keywords it cannot honour): DHE-RSA-AES128-GCM-SHA256"}},

		{name: "ciphers Go lacks", bind: ":443 ssl crt one/a.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
			errs: []string{"6: bind: ciphers: cipher suites Go's crypto/tls does not implement (or OpenSSL keywords it cannot honour): DHE-RSA-AES128-GCM-SHA256"}},
		{name: "fewer TLS 1.3 suites", bind: ":443 ssl crt one/a.pem ciphersuites TLS_AES_256_GCM_SHA384", errs: []string{"6: bind: ciphersuites: TLS 1.3 suites"}},
		{name: "a group Go lacks", bind: ":443 ssl crt one/a.pem curves X448:X25519", errs: []string{"6: bind: curves: groups Go's crypto/tls does not implement: X448"}},
		{name: "SSLv3", bind: ":443 ssl crt one/a.pem ssl-min-ver SSLv3", errs: []string{"6: bind option 'ssl-min-ver SSLv3': SSLv3"}},
		{name: "no version left", bind: ":443 ssl crt one/a.pem no-tlsv12 no-tlsv13", errs: []string{"6: bind: its version options leave no TLS version enabled"}},
		{name: "a crt that does not exist", bind: ":443 ssl crt nope.pem", errs: []string{"6: bind: crt /etc/haproxy/certs/nope.pem: no such file"}},
		{name: "a crt-list that does not exist", bind: ":443 ssl crt-list nope.txt", errs: []string{"6: bind: crt-list nope.txt: cannot read it"}},
		{name: "per-certificate options of a crt-list", bind: ":443 ssl crt-list opts.txt",
			errs: []string{"6: bind: crt-list opts.txt line 1: '[alpn h2 ssl-min-ver TLSv1.3]': HAProxy applies these TLS settings to one/a.pem alone"}},
		{name: "a crt-list line without ']'", bind: ":443 ssl crt-list bad.txt", errs: []string{"6: bind: crt-list bad.txt: line 1: '[' without ']'"}},
		{name: "a certificate with filters and without", bind: ":443 ssl crt-list mixed.txt", errs: []string{"6: bind: /etc/haproxy/certs/one/a.pem is listed with SNI filters and without"}},
		{name: "ssl without a certificate", bind: ":443 ssl", errs: []string{"6: bind: 'ssl' wants 'crt <pem file or directory>' or 'crt-list <file>'"}},
		{name: "verify required without a CA", bind: ":443 ssl crt one/a.pem verify required", errs: []string{"6: frontends[f].tls.client_auth.ca: required to verify client certificates"}},
		{name: "a bad verify", bind: ":443 ssl crt one/a.pem verify always", errs: []string{"6: bind option 'verify always': want none, optional or required"}},
		{name: "the system's CAs", bind: ":443 ssl crt one/a.pem verify required ca-file @system-ca", errs: []string{"6: bind option 'ca-file @system-ca'"}},
		{name: "ssl binds that differ", bind: ":443 ssl crt one/a.pem", more: []string{"bind :8443 ssl crt two/b.pem"},
			errs: []string{"7: bind: its TLS settings (certificates, versions, ciphers, ALPN or client certificates) differ from those of line 6"}},
		{name: "sigalgs", bind: ":443 ssl crt one/a.pem sigalgs RSA+SHA256", errs: []string{"6: bind option 'sigalgs RSA+SHA256'"}},
		{name: "an unknown default option", global: " ssl-default-bind-options no-compression\n", bind: ":443 ssl crt one/a.pem",
			errs: []string{"3: 'ssl-default-bind-options': unknown option 'no-compression'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Files = tlsOpts().Files
			c, warns, errs := translateCfg(tlsCfg(tt.global, tt.bind, tt.more...), opts)
			if len(errs) == 0 {
				if err := c.Validate(); err != nil {
					p := newParser("t.cfg", opts)
					p.translate([]byte(tlsCfg(tt.global, tt.bind, tt.more...)))
					errs = p.mapErrors(err).(config.Errors)
				}
			}
			checkPrefixes(t, "warnings", warnStrings(warns), tt.warns, true)
			checkPrefixes(t, "errors", errStrings(errs), tt.errs, false)
			if len(errs) > 0 || tt.want == nil {
				return
			}
			if diff := cmp.Diff(tt.want, fe0(c).TLS); diff != "" {
				t.Errorf("TLS (-want +got):\n%s", diff)
			}
			var files []string
			for n := range c.Files {
				files = append(files, n)
			}
			if diff := cmp.Diff(tt.files, files, cmpSorted); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// With StoreCertificates the frontends name store certificates after
// their files, and Import lists the files to store.
func TestImportStoresCertificates(t *testing.T) {
	cfg := tlsCfg("", ":443 ssl crt two crt /etc/haproxy/other/a.pem alpn h2,http/1.1") +
		"frontend g\n bind :8443 ssl crt-list list.txt\n timeout client 1s\n default_backend b\n"
	r, err := Import("t.cfg", []byte(cfg), Options{Files: tlsOpts().Files, StoreCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "a-2"}, r.Cluster.Frontends[0].TLS.Certificates); diff != "" {
		t.Errorf("frontend f's certificates (-want +got):\n%s", diff)
	}
	g := r.Cluster.Frontends[1].TLS
	if diff := cmp.Diff([]string{"a-3", "b", "a-2"}, g.Certificates); diff != "" {
		t.Errorf("frontend g's certificates (-want +got):\n%s", diff)
	}
	if g.SNI[0].Certificate != "b" {
		t.Errorf("SNI filters name %q, want the store name b", g.SNI[0].Certificate)
	}
	want := []Certificate{
		{Name: "a", Cert: "/etc/haproxy/certs/two/a.pem", Key: "/etc/haproxy/certs/two/a.pem", Line: 6},
		{Name: "b", Cert: "/etc/haproxy/certs/two/b.pem", Key: "/etc/haproxy/certs/two/b.pem.key", Line: 6},
		{Name: "a-2", Cert: "/etc/haproxy/other/a.pem", Key: "/etc/haproxy/other/a.pem", Line: 6},
		{Name: "a-3", Cert: "/etc/haproxy/certs/one/a.pem", Key: "/etc/haproxy/certs/one/a.pem", Line: 14},
	}
	if diff := cmp.Diff(want, r.Certificates); diff != "" {
		t.Errorf("certificates to store (-want +got):\n%s", diff)
	}
}

func TestStoreName(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.com.pem": "www.example.com", "site.crt": "site", "site.pem.rsa": "site.pem.rsa",
		"a b+c.pem": "a-b-c", ".pem": "cert", strings.Repeat("x", 80) + ".pem": strings.Repeat("x", 58),
	} {
		if got := storeName(in); got != want || !config.ValidName(got) {
			t.Errorf("storeName(%q) = %q, want %q (a valid name)", in, got, want)
		}
	}
}

func TestParseCrtList(t *testing.T) {
	got, err := parseCrtList("# c\n\n a.pem\r\nb.pem [alpn h2 verify none] x.example.com !y.example.com\nc.pem [ ciphers X ]\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []crtListEntry{
		{Line: 3, Cert: "a.pem"},
		{Line: 4, Cert: "b.pem", Options: []string{"alpn", "h2", "verify", "none"}, Filters: []string{"x.example.com", "!y.example.com"}},
		{Line: 5, Cert: "c.pem", Options: []string{"ciphers", "X"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for in, msg := range map[string]string{
		"a.pem [alpn h2":     "line 1: '[' without ']'",
		"x\na.pem [a [b]]":   "line 2: '[' inside the options",
		"a[1].pem":           "'[' and ']' belong around the options",
		"a.pem !":            `SNI filter "!"`,
		"a.pem x/y":          `SNI filter "x/y"`,
		"a.pem\x00":          "line 1: a NUL byte",
		"a.pem [x] ] y.test": `SNI filter "]"`,
	} {
		if _, err := parseCrtList(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseCrtList(%q): %v, want %q", in, err, msg)
		}
	}
}

func TestH2CImport(t *testing.T) {
	fe := func(lines ...string) string {
		return "defaults\n mode http\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nfrontend f\n " +
			strings.Join(append(lines, "default_backend b"), "\n ") + "\nbackend b\n server s 10.0.0.1:80\n"
	}
	for _, tt := range []struct {
		name, cfg, want, err string
	}{
		{"HAProxy 2.6 upgrades on the preface", fe("bind :80"), "", ""},
		{"disable-h2-upgrade", fe("bind :80", "option disable-h2-upgrade"), "off", ""},
		{"in defaults, undone", "defaults\n option disable-h2-upgrade\n" + fe("bind :80", "no option disable-h2-upgrade"), "", ""},
		{"proto h2", fe("bind :80 proto h2"), "only", ""},
		{"proto h1", fe("bind :80 proto h1"), "off", ""},
		{"mixed protos", fe("bind :80 proto h2", "bind :81"), "", "8: bind :81 has another 'proto'"},
		{"proto h2 on TLS", fe("bind :443 ssl crt /a.pem proto h2"), "", "7: bind option 'proto h2' on a TLS bind"},
		{"proto fcgi", fe("bind :80 proto fcgi"), "", "7: bind option 'proto fcgi'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, errs := translateCfg(tt.cfg, Options{})
			es := strings.Join(errStrings(errs), "\n")
			switch {
			case tt.err != "":
				if !strings.Contains(es, tt.err) {
					t.Errorf("errors %q, want %q", es, tt.err)
				}
			case es != "":
				t.Errorf("errors: %s", es)
			case fe0(c).H2C != tt.want:
				t.Errorf("h2c %q, want %q", fe0(c).H2C, tt.want)
			}
		})
	}
}

// Relative file names are read as HAProxy reads them: from the directory
// it runs in (the Files base), or from default-path's.
func TestDefaultPath(t *testing.T) {
	fsys := fstest.MapFS{
		"hosts.map":                  {Data: []byte("a.test cwd\n")},
		"etc/haproxy/hosts.map":      {Data: []byte("a.test config\n")},
		"etc/hosts.map":              {Data: []byte("a.test parent\n")},
		"srv/lb/hosts.map":           {Data: []byte("a.test origin\n")},
		"etc/haproxy/certs/site.pem": {Data: []byte("cert")},
	}
	for policy, want := range map[string]string{"": "a.test cwd\n", "current": "a.test cwd\n", "config": "a.test config\n", "parent": "a.test parent\n", "origin /srv/lb": "a.test origin\n"} {
		global := ""
		if policy != "" {
			global = "global\n default-path " + policy + "\n"
		}
		cfg := global + "defaults\n mode http\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nfrontend f\n bind :80\n" +
			" use_backend %[req.hdr(host),lower,map(hosts.map,b)]\n default_backend b\nbackend b\n server s 10.0.0.1:80\n"
		c, _, errs := translateCfg(cfg, Options{Files: FromFS(fsys, "/"), ConfigDir: "/etc/haproxy"})
		if len(errs) > 0 {
			t.Fatalf("%q: %v", policy, errStrings(errs))
		}
		if got := c.Files["hosts.map"]; got != want {
			t.Errorf("default-path %q: read %q, want %q", policy, got, want)
		}
	}
	cfg := "global\n default-path config\ndefaults\n mode http\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n" +
		"frontend f\n bind :443 ssl crt certs/site.pem\n default_backend b\nbackend b\n server s 10.0.0.1:80\n"
	c, _, errs := translateCfg(cfg, Options{Files: FromFS(fsys, "/"), ConfigDir: "/etc/haproxy"})
	if len(errs) > 0 {
		t.Fatal(errStrings(errs))
	}
	if got := fe0(c).TLS.Certificates; len(got) != 1 || got[0] != "/etc/haproxy/certs/site.pem" {
		t.Errorf("a relative crt under default-path config: %q", got)
	}
}

package haproxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// srvTLSCfg is a backend whose server line (line 7, after the given global
// lines) has the given options.
func srvTLSCfg(global, opts string) string {
	return "global\n crt-base /etc/haproxy/certs\n ca-base /etc/haproxy/ca\n" + global +
		"defaults\n mode http\n timeout connect 1s\n timeout server 1s\n timeout client 1s\n" +
		"frontend f\n bind :80\n default_backend b\nbackend b\n server s 10.0.0.1:443 " + opts + "\n"
}

func TestServerTLSImport(t *testing.T) {
	tests := []struct {
		name, global, opts string
		want               *config.ServerTLS
		check              *config.CheckTLS
		proto              string
		files              []string
		errs               []string
	}{
		{name: "verify required with a CA", opts: "ssl ca-file ca.pem sni req.hdr(host) alpn h2,http/1.1 crt one/a.pem",
			want:  &config.ServerTLS{CA: "/etc/haproxy/ca/ca.pem", SNI: "req.hdr(host)", ALPN: []string{"h2", "http/1.1"}, Certificate: "/etc/haproxy/certs/one/a.pem"},
			files: []string{"/etc/haproxy/ca/ca.pem"}},
		{name: "verify none", opts: "ssl verify none", want: &config.ServerTLS{Verify: "none"}},
		{name: "ssl-server-verify none", global: " ssl-server-verify none\n", opts: "ssl", want: &config.ServerTLS{Verify: "none"}},
		{name: "verifyhost, CRL, versions and tickets", opts: "ssl ca-file ca.pem crl-file crl.pem verifyhost api.internal no-tlsv13 no-tls-tickets",
			want:  &config.ServerTLS{CA: "/etc/haproxy/ca/ca.pem", CRL: "/etc/haproxy/ca/crl.pem", VerifyHost: "api.internal", MaxVersion: "TLSv1.2", NoTickets: true},
			files: []string{"/etc/haproxy/ca/ca.pem", "/etc/haproxy/ca/crl.pem"}},
		{name: "ssl-default-server-*", global: " ssl-default-server-options ssl-min-ver TLSv1.3 no-tls-tickets\n ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256\n",
			opts: "ssl verify none", want: &config.ServerTLS{Verify: "none", MinVersion: "TLSv1.3", NoTickets: true, Ciphers: "ECDHE-RSA-AES128-GCM-SHA256"}},
		{name: "proto h2 in clear text", opts: "proto h2", proto: "h2"},
		{name: "check-ssl of a clear-text server takes the TLS settings", opts: "check check-ssl verify required ca-file ca.pem check-sni db.internal",
			check: &config.CheckTLS{SNI: "db.internal", CA: "/etc/haproxy/ca/ca.pem"}, files: []string{"/etc/haproxy/ca/ca.pem"}},
		{name: "TLS settings without ssl change nothing", opts: "verify none sni str(x)"},
		{name: "no-ssl after default-server ssl", opts: "no-ssl"},

		{name: "HAProxy's refusal without a CA", opts: "ssl", errs: []string{"13: server 's': TLS verifies the server's certificate by default"}},
		{name: "a CA file that does not exist", opts: "ssl ca-file nope.pem", errs: []string{"13: ca-file '/etc/haproxy/ca/nope.pem': cannot read it"}},
		{name: "a bad verify", opts: "ssl verify optional", errs: []string{"13: server option 'verify optional': want none or required", "13: server 's': TLS verifies"}},
		{name: "SSLv3", opts: "ssl verify none ssl-max-ver SSLv3", errs: []string{"13: server option 'ssl-max-ver SSLv3': SSLv3"}},
		{name: "sigalgs", opts: "ssl verify none sigalgs RSA+SHA256", errs: []string{"13: server option 'sigalgs RSA+SHA256'"}},
		{name: "a cipher Go lacks", opts: "ssl verify none ciphers DHE-RSA-AES128-GCM-SHA256", errs: []string{"13: backends[b].servers[s].tls.ciphers"}},
		{name: "proto fcgi", opts: "proto fcgi", errs: []string{"13: server option 'proto fcgi'"}},
		{name: "an sni expression that does not parse", opts: "ssl verify none sni req.hdrr(host)", errs: []string{`13: backends[b].servers[s].tls.sni: unknown fetch method "req.hdrr"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srvTLSCfg(tt.global, tt.opts)
			if tt.name == "no-ssl after default-server ssl" {
				cfg = strings.Replace(cfg, "\n server s ", "\n default-server ssl verify none\n server s ", 1)
			}
			lines := strings.Count(tt.global, "\n")
			opts := tlsOpts()
			c, _, errs := translateCfg(cfg, opts)
			if len(errs) == 0 {
				if err := c.Validate(); err != nil {
					p := newParser("t.cfg", opts)
					p.translate([]byte(cfg))
					errs = p.mapErrors(err).(config.Errors)
				}
			}
			want := tt.errs
			for i, e := range want { // the server line moves down with the global lines
				n, rest, _ := strings.Cut(e, ":")
				if n == "13" {
					want[i] = strings.Repeat("", 0) + itoa(13+lines) + ":" + rest
				}
			}
			checkPrefixes(t, "errors", errStrings(errs), want, false)
			if len(errs) > 0 || len(tt.errs) > 0 {
				return
			}
			s := srv0(c)
			if diff := cmp.Diff(tt.want, s.TLS); diff != "" {
				t.Errorf("tls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.check, s.CheckTLS); diff != "" {
				t.Errorf("check_tls (-want +got):\n%s", diff)
			}
			if s.Proto != tt.proto {
				t.Errorf("proto %q, want %q", s.Proto, tt.proto)
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

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

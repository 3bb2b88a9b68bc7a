package config

import (
	"os"
	"strings"
	"testing"
)

// acmeYAML is the article's config with a TLS frontend served by ACME
// certificates only, and a private CA's root.
func acmeYAML(t *testing.T, acme string) string {
	t.Helper()
	base, err := os.ReadFile("testdata/article.yaml")
	if err != nil {
		t.Fatal(err)
	}
	front := `  - name: https
    bind: ["127.0.0.1:8443"]
    default_backend: http-in
    tls: {}
`
	y := strings.Replace(string(base), "backends:\n", front+"backends:\n", 1)
	return y + "files:\n  pebble.pem: |\n" + indent(testRootPEM, "    ") + acme
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return by + strings.Join(lines, "\n"+by) + "\n"
}

// testRootPEM is a self-signed CA certificate (openssl req -x509; any
// one will do: the file must hold a PEM certificate).
const testRootPEM = `-----BEGIN CERTIFICATE-----
MIIBfDCCASOgAwIBAgIUZOo9yLkyx4ACC9V1bd9hJktXyHMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJdGVzdC1yb290MB4XDTI2MTIwMTEwMzMyOVoXDTM2MTEyODEw
MzMyOVowFDESMBAGA1UEAwwJdGVzdC1yb290MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEZP/FNjpXjRwkSExmrO1pidFVjUJmImcJcmcsPXqKpXxZOWj55RrGKIWp
gWnl8c+M5J6/Trcv8kCb52M0D/+RwKNTMFEwHQYDVR0OBBYEFD12Kv5Prjje1JGc
eIm5O7/M2MecMB8GA1UdIwQYMBaAFD12Kv5Prjje1JGceIm5O7/M2MecMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgDJW2J1eoX6nuI4jJoFSApv2g
px/p+2ktNnHrfAGUq+8CICfCrfI+j5P7IAR4E6esJVdXY26apHWxpq8ywUmJ8QTB
-----END CERTIFICATE-----
`

func TestACMEConfigAccepted(t *testing.T) {
	y := acmeYAML(t, `acme:
  email: ops@example.com
  directory_url: https://10.0.0.1:14000/dir
  names: [www.example.com, shop.example.com]
  from_frontends: [https]
  ca_roots: pebble.pem
`)
	c, err := Load("ok.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ACMEFrontends(); len(got) != 1 || got[0] != "https" {
		t.Errorf("ACMEFrontends() = %v, want [https]", got)
	}
	r := c.Resolve()
	if r.ACME == nil || len(r.ACME.Names) != 2 || r.ACME.Directory() != "https://10.0.0.1:14000/dir" {
		t.Errorf("resolved ACME = %+v", r.ACME)
	}
	if n, ok := IsACMECertificateName(ACMECertificateName("www.example.com")); !ok || n != "www.example.com" {
		t.Errorf("IsACMECertificateName round trip = %q, %v", n, ok)
	}
	if _, ok := IsACMECertificateName("web"); ok {
		t.Error("a plain store name is taken for an ACME one")
	}
}

func TestACMEConfigErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name string
		acme string
		want []string
	}{
		{"not a DNS name", "acme: {email: a@b.c, names: [www.exa_mple.com]}\n", []string{"acme.names[0]", `"www.exa_mple.com" is not a valid DNS name`}},
		{"wildcard", "acme: {email: a@b.c, names: ['*.example.com']}\n", []string{"acme.names[0]", "wildcard", "DNS-01"}},
		{"ip", "acme: {email: a@b.c, names: [10.0.0.1]}\n", []string{"acme.names[0]", "IP address"}},
		{"single label", "acme: {email: a@b.c, names: [localhost]}\n", []string{"acme.names[0]", "fully qualified"}},
		{"upper case", "acme: {email: a@b.c, names: [WWW.example.com]}\n", []string{"acme.names[0]", "lower case"}},
		{"trailing dot", "acme: {email: a@b.c, names: [www.example.com.]}\n", []string{"acme.names[0]", "trailing dot"}},
		{"long label", "acme: {email: a@b.c, names: [" + strings.Repeat("a", 64) + ".com]}\n", []string{"acme.names[0]", "1 to 63"}},
		{"dash", "acme: {email: a@b.c, names: [-www.example.com]}\n", []string{"acme.names[0]", "starts or ends with '-'"}},
		{"duplicate", "acme: {email: a@b.c, names: [a.example.com, a.example.com]}\n", []string{"acme.names[1]", "duplicate"}},
		{"no names", "acme: {email: a@b.c}\n", []string{"acme.names", "at least one"}},
		{"email for let's encrypt", "acme: {names: [a.example.com]}\n", []string{"acme.email", "required by acme-v02.api.letsencrypt.org"}},
		{"bad email", "acme: {email: 'ops at example.com', names: [a.example.com]}\n", []string{"acme.email", "not an e-mail address"}},
		{"http directory", "acme: {email: a@b.c, directory_url: 'http://ca.example.com/dir', names: [a.example.com]}\n", []string{"acme.directory_url", "https URL"}},
		{"unknown frontend", "acme: {email: a@b.c, names: [a.example.com], from_frontends: [nope]}\n", []string{"acme.from_frontends[0]", `frontend "nope" does not exist`}},
		{"frontend without tls", "acme: {email: a@b.c, names: [a.example.com], from_frontends: [http-in]}\n", []string{"acme.from_frontends[0]", "has no tls"}},
		{"missing roots", "acme: {email: a@b.c, names: [a.example.com], ca_roots: nope.pem}\n", []string{"acme.ca_roots", `"nope.pem" is not in files`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("bad.yaml", []byte(acmeYAML(t, tt.acme)))
			if err == nil {
				t.Fatal("Load accepted bad input")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTLSFrontendWithoutCertificatesNeedsACME(t *testing.T) {
	y := acmeYAML(t, "")
	_, err := Load("bad.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "frontends[https].tls: a certificate is required") {
		t.Fatalf("a TLS frontend without certificate and without acme: %v", err)
	}
	// With acme but served elsewhere, it still needs one of its own.
	y = strings.Replace(acmeYAML(t, "acme: {email: a@b.c, names: [a.example.com], from_frontends: [other]}\n"),
		"    tls: {}\n", "    tls: {}\n  - {name: other, bind: [\"127.0.0.1:9443\"], default_backend: http-in, tls: {}}\n", 1)
	if _, err := Load("bad.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), "frontends[https].tls: a certificate is required") {
		t.Fatalf("a TLS frontend acme does not serve, without certificate: %v", err)
	}
}

func TestValidDNSName(t *testing.T) {
	for _, ok := range []string{"a.b", "www.example.com", "xn--bcher-kva.example", "a-b.c-d.e", "1.example.com", strings.Repeat("a", 63) + ".com"} {
		if err := ValidDNSName(ok); err != nil {
			t.Errorf("ValidDNSName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a..b", ".a.b", "a.b.", "a", "*.a.b", "a.*.b", "a b.c", "a/b.c", "::1", "1.2.3.4", "a.-b", "a_b.c", "é.com",
		strings.Repeat("a.", 127) + "ab"} {
		if err := ValidDNSName(bad); err == nil {
			t.Errorf("ValidDNSName(%q) accepted", bad)
		}
	}
}

func FuzzValidDNSName(f *testing.F) {
	for _, s := range []string{"www.example.com", "", "*.example.com", "a.", "10.0.0.1", "localhost", "A.b", "a-.b", "a_b.c", strings.Repeat("a", 64) + ".b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidDNSName(s)
		if err == nil {
			if len(s) > 253 || strings.ToLower(s) != s || !strings.Contains(s, ".") || strings.ContainsAny(s, "*_ /:") {
				t.Fatalf("accepted %q", s)
			}
			for _, l := range strings.Split(s, ".") {
				if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
					t.Fatalf("accepted %q with label %q", s, l)
				}
			}
			if n, ok := IsACMECertificateName(ACMECertificateName(s)); !ok || n != s {
				t.Fatalf("store name of %q does not round-trip", s)
			}
			return
		}
		if !strings.Contains(err.Error(), "name") && !strings.Contains(err.Error(), "label") && !strings.Contains(err.Error(), "address") &&
			!strings.Contains(err.Error(), "wildcard") && !strings.Contains(err.Error(), "dot") && !strings.Contains(err.Error(), "characters") {
			t.Fatalf("error for %q does not say what is wrong: %v", s, err)
		}
	})
}

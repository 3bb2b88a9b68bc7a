package config

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestParseCurves(t *testing.T) {
	got, err := ParseCurves("X25519:prime256v1:secp384r1:P-384:P-521")
	if err != nil {
		t.Fatal(err)
	}
	if want := []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (duplicates once)", got, want)
	}
	for _, bad := range []string{"X448", "X25519:ffdhe2048", ":"} {
		if _, err := ParseCurves(bad); err == nil {
			t.Errorf("ParseCurves(%q) accepted", bad)
		}
	}
}

func TestTLSValidation(t *testing.T) {
	tests := []struct {
		name string
		tls  TLS
		want string // "" for valid
	}{
		{"store and file certificates", TLS{Certificates: []string{"www", "/etc/tls/a.pem"}, ALPN: []string{"h2", "http/1.1"}}, ""},
		{"no ALPN", TLS{Certificates: []string{"www"}, ALPN: []string{NoALPN}}, ""},
		{"none with others", TLS{Certificates: []string{"www"}, ALPN: []string{"h2", NoALPN}}, `frontends[fe].tls.alpn[1]: "none" offers no protocol`},
		{"empty protocol", TLS{Certificates: []string{"www"}, ALPN: []string{""}}, "frontends[fe].tls.alpn[0]: a protocol name is 1 to 255 bytes"},
		{"curves", TLS{Certificates: []string{"www"}, Curves: "X25519:X448"}, "frontends[fe].tls.curves: groups Go's crypto/tls does not implement: X448"},
		{"ciphers", TLS{Certificates: []string{"www"}, Ciphers: "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256"}, "frontends[fe].tls.ciphers: cipher suites Go's crypto/tls does not implement (or OpenSSL keywords it cannot honour): DHE-RSA-AES128-GCM-SHA256"},
		{"ciphersuites", TLS{Certificates: []string{"www"}, CipherSuites: "TLS_AES_128_GCM_SHA256"}, "frontends[fe].tls.ciphersuites:"},
		{"versions", TLS{Certificates: []string{"www"}, MinVersion: "TLSv1.3", MaxVersion: "TLSv1.2"}, "frontends[fe].tls.max_version: TLSv1.2 is below min_version TLSv1.3"},
		{"no certificate", TLS{}, "frontends[fe].tls: a certificate is required"},
		{"bad store name", TLS{Certificates: []string{"a b"}}, `frontends[fe].tls.certificates[0]: "a b": a certificate of the store`},
		{"default not served", TLS{Certificates: []string{"www"}, DefaultCertificate: "api"}, `frontends[fe].tls.default_certificate: "api" is not one`},
		{"verify without CA", TLS{Certificates: []string{"www"}, ClientAuth: &ClientAuth{Verify: "required"}}, "frontends[fe].tls.client_auth.ca: required"},
		{"CA not in files", TLS{Certificates: []string{"www"}, ClientAuth: &ClientAuth{Verify: "optional", CA: "ca.pem"}}, `frontends[fe].tls.client_auth.ca: file "ca.pem" is not in files`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := minimalCluster()
			c.Frontends[0].TLS = &tt.tls
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid TLS refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

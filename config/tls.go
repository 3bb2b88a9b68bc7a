package config

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// TLS terminates TLS on every bind address of a frontend (HAProxy's "bind
// ... ssl crt ..."), in mode http (HTTP/2 offered by ALPN) or tcp.
type TLS struct {
	// Cert and Key name one certificate's PEM files on every LB node (the
	// form before certificates were chosen by SNI; Key may be the same
	// file as Cert). Use Certificates for more than one.
	Cert string `yaml:"cert,omitempty" json:"cert,omitempty"`
	Key  string `yaml:"key,omitempty" json:"key,omitempty"`
	// Certificates are served by SNI: a client gets the certificate whose
	// names (its DNS SANs, or SNI's filter) match the name it asks for,
	// exactly or by one wildcard label, ECDSA before RSA when it supports
	// it. Each is a PEM file on every LB node (a path: certificate and key
	// in one file, or the key in PATH.key as HAProxy looks for it).
	Certificates []string `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	// SNI replaces the names of some certificates (HAProxy's crt-list
	// filters): the certificate serves the names listed ("*.example.com"
	// a wildcard, "!name" excluded), not its own.
	SNI []SNIFilter `yaml:"sni,omitempty" json:"sni,omitempty"`
	// DefaultCertificate is served to clients without SNI or with a name
	// no certificate has (default: the first certificate).
	DefaultCertificate string `yaml:"default_certificate,omitempty" json:"default_certificate,omitempty"`
	// StrictSNI refuses the handshake of a client whose name no
	// certificate has, or who sends none (HAProxy's strict-sni).
	StrictSNI bool `yaml:"strict_sni,omitempty" json:"strict_sni,omitempty"`
	// MinVersion and MaxVersion bound the protocol: TLSv1.0, TLSv1.1,
	// TLSv1.2, TLSv1.3 (default: TLSv1.2 to TLSv1.3).
	MinVersion string `yaml:"min_version,omitempty" json:"min_version,omitempty"`
	MaxVersion string `yaml:"max_version,omitempty" json:"max_version,omitempty"`
	// Ciphers lists the TLS 1.2 cipher suites in OpenSSL's names,
	// colon-separated ("ECDHE-ECDSA-AES128-GCM-SHA256:..."). Only suites
	// Go's crypto/tls implements may be named: another name, or an
	// OpenSSL keyword (HIGH, !aNULL), is an error, never ignored.
	Ciphers string `yaml:"ciphers,omitempty" json:"ciphers,omitempty"`
	// CipherSuites lists the TLS 1.3 suites; Go's crypto/tls always
	// offers its three, so only a list of exactly those is accepted.
	CipherSuites string `yaml:"ciphersuites,omitempty" json:"ciphersuites,omitempty"`
	// ALPN protocols offered, in order (default in mode http: h2,
	// http/1.1; in mode tcp: none). [none] offers none, as HAProxy 2.6
	// does on a bind without "alpn": clients then speak HTTP/1.1.
	ALPN []string `yaml:"alpn,omitempty" json:"alpn,omitempty"`
	// Curves are the key exchange groups allowed, colon-separated, in
	// OpenSSL's or Go's names (X25519, P-256 or prime256v1, P-384 or
	// secp384r1, P-521 or secp521r1); default: Go's.
	Curves string `yaml:"curves,omitempty" json:"curves,omitempty"`
	// NoTickets turns off session resumption by tickets (HAProxy's
	// no-tls-tickets).
	NoTickets bool `yaml:"no_tickets,omitempty" json:"no_tickets,omitempty"`
	// ClientAuth asks clients for certificates (HAProxy's verify,
	// ca-file, crl-file).
	ClientAuth *ClientAuth `yaml:"client_auth,omitempty" json:"client_auth,omitempty"`
}

// SNIFilter gives one certificate the names it serves (one crt-list line).
type SNIFilter struct {
	Certificate string   `yaml:"certificate" json:"certificate"`
	Names       []string `yaml:"names" json:"names"`
}

// ClientAuth is client certificate verification.
type ClientAuth struct {
	// Verify is none (default), optional (a certificate given must be
	// valid) or required.
	Verify string `yaml:"verify,omitempty" json:"verify,omitempty"`
	// CA names the file of Cluster.Files with the PEM certificates that
	// sign valid client certificates (HAProxy's ca-file).
	CA string `yaml:"ca,omitempty" json:"ca,omitempty"`
	// CRL names the file of Cluster.Files with a PEM certificate
	// revocation list (HAProxy's crl-file).
	CRL string `yaml:"crl,omitempty" json:"crl,omitempty"`
}

// CertificateNames is every certificate the frontend serves: Cert (with
// its key) or Certificates.
func (t *TLS) CertificateNames() []string {
	if t.Cert != "" && len(t.Certificates) == 0 {
		return []string{t.Cert}
	}
	return t.Certificates
}

// tlsVersions are the names HAProxy and tandem accept for versions.
var tlsVersions = map[string]uint16{
	"TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// TLSVersion parses TLSv1.0 ... TLSv1.3 ("" gives def).
func TLSVersion(name string, def uint16) (uint16, error) {
	if name == "" {
		return def, nil
	}
	if v, ok := tlsVersions[name]; ok {
		return v, nil
	}
	if name == "SSLv3" {
		return 0, fmt.Errorf("SSLv3 is not supported by Go's crypto/tls (want TLSv1.0 to TLSv1.3)")
	}
	return 0, fmt.Errorf("unknown TLS version %q (want TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)", name)
}

// openSSLSuites maps the OpenSSL names of the TLS 1.2 (and older) suites
// Go's crypto/tls implements to their IDs.
var openSSLSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// OpenSSLCipherName is the OpenSSL name of a suite Go negotiated (TLS
// 1.3 suites are named alike in both); "" for one it does not know.
func OpenSSLCipherName(id uint16) string {
	for name, v := range openSSLSuites {
		if v == id {
			return name
		}
	}
	for _, n := range tls13Suites {
		if tls.CipherSuiteName(id) == n {
			return n
		}
	}
	return ""
}

// ParseCiphers turns an OpenSSL cipher list of TLS 1.2 suites into Go's
// IDs, in order; any name Go does not implement is an error.
func ParseCiphers(list string) ([]uint16, error) {
	var ids []uint16
	var bad []string
	for name := range strings.SplitSeq(list, ":") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		id, ok := openSSLSuites[name]
		if !ok {
			bad = append(bad, name)
			continue
		}
		ids = append(ids, id)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("cipher suites Go's crypto/tls does not implement (or OpenSSL keywords it cannot honour): %s", strings.Join(bad, ", "))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no cipher suite in %q", list)
	}
	return ids, nil
}

// NoALPN is the ALPN list that offers no protocol.
const NoALPN = "none"

// OffersNoALPN reports whether t offers no ALPN protocol at all.
func (t *TLS) OffersNoALPN() bool { return len(t.ALPN) == 1 && t.ALPN[0] == NoALPN }

// curveNames are the groups Go implements, by OpenSSL's names and Go's.
var curveNames = map[string]tls.CurveID{
	"X25519": tls.X25519, "x25519": tls.X25519,
	"P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"P-384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"P-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"X25519MLKEM768": tls.X25519MLKEM768,
}

// ParseCurves turns a colon-separated group list into Go's IDs, in order;
// a group Go does not implement (X448, ffdhe2048, ...) is an error.
func ParseCurves(list string) ([]tls.CurveID, error) {
	var ids []tls.CurveID
	var bad []string
	for name := range strings.SplitSeq(list, ":") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		id, ok := curveNames[name]
		if !ok {
			bad = append(bad, name)
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("groups Go's crypto/tls does not implement: %s (want X25519, P-256, P-384, P-521)", strings.Join(bad, ", "))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no group in %q", list)
	}
	return ids, nil
}

// tls13Suites are the TLS 1.3 suites Go always offers.
var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// CheckCipherSuites accepts a TLS 1.3 suite list Go can honour: its three
// suites, in any order (Go orders them itself).
func CheckCipherSuites(list string) error {
	var names []string
	for name := range strings.SplitSeq(list, ":") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	want := slices.Clone(tls13Suites)
	slices.Sort(want)
	if !slices.Equal(sorted, want) {
		return fmt.Errorf("TLS 1.3 suites %q: Go's crypto/tls always offers exactly %s and cannot offer fewer or others", list, strings.Join(tls13Suites, ":"))
	}
	return nil
}

func (t *TLS) validate(es *Errors, path string, c *Cluster, acme bool) {
	names := t.CertificateNames()
	if len(names) == 0 && !acme {
		es.add(path, "a certificate is required: certificates, cert and key files, or acme in the cluster config")
	}
	if t.Cert != "" && t.Key == "" {
		es.add(path+".key", "required with cert (it may name the same file)")
	}
	if t.Cert != "" && len(t.Certificates) > 0 {
		es.add(path+".cert", "use certificates or cert/key, not both")
	}
	for i, n := range names {
		if !strings.Contains(n, "/") && !ValidName(n) {
			es.add(fmt.Sprintf("%s.certificates[%d]", path, i), "%q: a certificate of the store (a name: letters, digits, '.', '_', '-') or a file path (with a '/')", n)
		}
	}
	if t.DefaultCertificate != "" && !slices.Contains(names, t.DefaultCertificate) {
		es.add(path+".default_certificate", "%q is not one of the frontend's certificates", t.DefaultCertificate)
	}
	for i, f := range t.SNI {
		if !slices.Contains(names, f.Certificate) {
			es.add(fmt.Sprintf("%s.sni[%d].certificate", path, i), "%q is not one of the frontend's certificates", f.Certificate)
		}
		for j, n := range f.Names {
			if strings.TrimPrefix(n, "!") == "" || strings.ContainsAny(n, " /:") {
				es.add(fmt.Sprintf("%s.sni[%d].names[%d]", path, i, j), "invalid server name %q", n)
			}
		}
	}
	validateTLSParams(es, path, tlsParams{t.MinVersion, t.MaxVersion, t.Ciphers, t.CipherSuites, t.Curves})
	for i, p := range t.ALPN {
		switch {
		case p == NoALPN && len(t.ALPN) > 1:
			es.add(fmt.Sprintf("%s.alpn[%d]", path, i), "%q offers no protocol: it cannot be listed with others", NoALPN)
		case p == "" || len(p) > 255:
			es.add(fmt.Sprintf("%s.alpn[%d]", path, i), "a protocol name is 1 to 255 bytes")
		}
	}
	if ca := t.ClientAuth; ca != nil {
		switch ca.Verify {
		case "", "none", "optional", "required":
		default:
			es.add(path+".client_auth.verify", "want none, optional or required (got %q)", ca.Verify)
		}
		if ca.Verify == "optional" || ca.Verify == "required" {
			if ca.CA == "" {
				es.add(path+".client_auth.ca", "required to verify client certificates")
			}
		}
		for field, name := range map[string]string{"ca": ca.CA, "crl": ca.CRL} {
			if _, ok := c.Files[name]; name != "" && !ok {
				es.add(path+".client_auth."+field, "file %q is not in files", name)
			}
		}
	}
}

// tlsParams are the protocol settings frontends and servers share.
type tlsParams struct{ min, max, ciphers, suites, curves string }

// validateTLSParams checks versions, cipher suites and groups that Go's
// crypto/tls must honour, under path.
func validateTLSParams(es *Errors, path string, p tlsParams) {
	minV, err := TLSVersion(p.min, tls.VersionTLS12)
	if err != nil {
		es.add(path+".min_version", "%v", err)
	}
	maxV, err := TLSVersion(p.max, tls.VersionTLS13)
	if err != nil {
		es.add(path+".max_version", "%v", err)
	}
	if minV > maxV {
		es.add(path+".max_version", "%s is below min_version %s", p.max, p.min)
	}
	if p.ciphers != "" {
		if _, err := ParseCiphers(p.ciphers); err != nil {
			es.add(path+".ciphers", "%v", err)
		}
	}
	if p.suites != "" {
		if err := CheckCipherSuites(p.suites); err != nil {
			es.add(path+".ciphersuites", "%v", err)
		}
	}
	if p.curves != "" {
		if _, err := ParseCurves(p.curves); err != nil {
			es.add(path+".curves", "%v", err)
		}
	}
}

package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ServerTLS is TLS on the connections to a server (HAProxy's server "ssl"
// with its verify, ca-file, crl-file, verifyhost, sni, crt, alpn and
// version options). Health checks of the server use it too, unless they go
// to another address or port (check_port, check_addr) and have no
// check_tls of their own, as HAProxy's.
type ServerTLS struct {
	// Verify is "required" (default, as HAProxy's ssl-server-verify) or
	// "none" (the server's certificate is not checked).
	Verify string `yaml:"verify,omitempty" json:"verify,omitempty"`
	// CA names the file of Cluster.Files with the PEM certificates that
	// sign the server's (HAProxy's ca-file); required with verify required.
	CA string `yaml:"ca,omitempty" json:"ca,omitempty"`
	// CRL names a file of Cluster.Files with a PEM revocation list.
	CRL string `yaml:"crl,omitempty" json:"crl,omitempty"`
	// SNI is a sample expression (HAProxy's "sni"): its string is sent as
	// the server name and checked against the certificate. Examples:
	// "req.hdr(host)", "ssl_fc_sni", "str(api.internal)". Connections
	// are reused only for the same name.
	SNI string `yaml:"sni,omitempty" json:"sni,omitempty"`
	// VerifyHost is the name checked in the certificate when no SNI is
	// sent (HAProxy's verifyhost); without both, only the chain is
	// checked, as HAProxy does.
	VerifyHost string `yaml:"verifyhost,omitempty" json:"verifyhost,omitempty"`
	// Certificate is the client certificate sent when the server asks for
	// one (HAProxy's crt): a certificate of the store, or a PEM path.
	Certificate string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	// ALPN protocols offered: h2 negotiated means HTTP/2 to the server.
	ALPN []string `yaml:"alpn,omitempty" json:"alpn,omitempty"`
	// MinVersion, MaxVersion, Ciphers, CipherSuites and Curves are as a
	// frontend's (TLS).
	MinVersion   string `yaml:"min_version,omitempty" json:"min_version,omitempty"`
	MaxVersion   string `yaml:"max_version,omitempty" json:"max_version,omitempty"`
	Ciphers      string `yaml:"ciphers,omitempty" json:"ciphers,omitempty"`
	CipherSuites string `yaml:"ciphersuites,omitempty" json:"ciphersuites,omitempty"`
	Curves       string `yaml:"curves,omitempty" json:"curves,omitempty"`
	// NoTickets does not resume sessions by tickets (no-tls-tickets).
	NoTickets bool `yaml:"no_tickets,omitempty" json:"no_tickets,omitempty"`

	// Off, NoVersions and ForceVersion stage a haproxy.cfg's server
	// options while it is imported (TLS settings written without "ssl",
	// no-tlsv1x and force-tlsv1x); never part of a config.
	Off          bool     `yaml:"-" json:"-"`
	NoVersions   []string `yaml:"-" json:"-"`
	ForceVersion string   `yaml:"-" json:"-"`
}

// VerifyRequired reports whether the server's certificate is checked.
func (t *ServerTLS) VerifyRequired() bool { return t.Verify != "none" }

func (t *ServerTLS) validate(es *Errors, path string, c *Cluster) {
	switch t.Verify {
	case "", "required", "none":
	default:
		es.add(path+".verify", "want required or none (got %q)", t.Verify)
	}
	if t.VerifyRequired() && t.CA == "" {
		es.add(path+".ca", "required to verify the server's certificate (or verify: none, which trusts any server)")
	}
	for field, name := range map[string]string{"ca": t.CA, "crl": t.CRL} {
		if _, ok := c.Files[name]; name != "" && !ok {
			es.add(path+"."+field, "file %q is not in files", name)
		}
	}
	if n := t.Certificate; n != "" && !strings.Contains(n, "/") && !ValidName(n) {
		es.add(path+".certificate", "%q: a certificate of the store (a name) or a file path (with a '/')", n)
	}
	if strings.ContainsAny(t.VerifyHost, " /:") {
		es.add(path+".verifyhost", "invalid host name %q", t.VerifyHost)
	}
	validateTLSParams(es, path, tlsParams{t.MinVersion, t.MaxVersion, t.Ciphers, t.CipherSuites, t.Curves})
	for i, p := range t.ALPN {
		if p == "" || len(p) > 255 {
			es.add(fmt.Sprintf("%s.alpn[%d]", path, i), "a protocol name is 1 to 255 bytes")
		}
	}
}

// ClientConfig builds the tls.Config of connections to a server: files
// are the cluster's files (CA and CRL), cert the client certificate (nil:
// none). The server name is set per connection (tls.Config.ServerName,
// the SNI); verification follows HAProxy: the chain against the CA, the
// revocation list, then the certificate's names against the SNI sent, or
// VerifyHost when none was, or no name at all when neither.
func (t *ServerTLS) ClientConfig(files map[string]string, cert *tls.Certificate) (*tls.Config, error) {
	minV, err := TLSVersion(t.MinVersion, tls.VersionTLS12)
	if err != nil {
		return nil, err
	}
	maxV, err := TLSVersion(t.MaxVersion, tls.VersionTLS13)
	if err != nil {
		return nil, err
	}
	// Verification is ours (VerifyConnection), not crypto/tls's, which
	// would insist on a name.
	conf := &tls.Config{MinVersion: minV, MaxVersion: maxV, InsecureSkipVerify: true, NextProtos: t.ALPN, //nolint:gosec // verified below
		SessionTicketsDisabled: t.NoTickets}
	if !t.NoTickets {
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	if t.Ciphers != "" {
		if conf.CipherSuites, err = ParseCiphers(t.Ciphers); err != nil {
			return nil, err
		}
	}
	if t.Curves != "" {
		if conf.CurvePreferences, err = ParseCurves(t.Curves); err != nil {
			return nil, err
		}
	}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}
	if !t.VerifyRequired() {
		return conf, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(files[t.CA])) {
		return nil, fmt.Errorf("server CA file %q holds no PEM certificate", t.CA)
	}
	revoked, err := RevokedSerials(files, t.CRL)
	if err != nil {
		return nil, err
	}
	host := t.VerifyHost
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyServer(cs, roots, revoked, host)
	}
	return conf, nil
}

// ErrServerRevoked is a server certificate on the CRL.
var ErrServerRevoked = errors.New("the server's certificate is revoked (CRL)")

func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, revoked map[string]bool, verifyHost string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	if revoked[leaf.SerialNumber.String()] {
		return ErrServerRevoked
	}
	name := cs.ServerName
	if name == "" {
		name = verifyHost
	}
	if name == "" {
		return nil
	}
	if err := leaf.VerifyHostname(name); err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	return nil
}

// RevokedSerials reads a PEM CRL of files: the revoked serial numbers
// (none when name is "").
func RevokedSerials(files map[string]string, name string) (map[string]bool, error) {
	if name == "" {
		return nil, nil
	}
	block, _ := pem.Decode([]byte(files[name]))
	if block == nil {
		return nil, fmt.Errorf("CRL file %q holds no PEM block", name)
	}
	crl, err := x509.ParseRevocationList(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse CRL file %q: %w", name, err)
	}
	out := map[string]bool{}
	for _, e := range crl.RevokedCertificateEntries {
		out[e.SerialNumber.String()] = true
	}
	return out, nil
}

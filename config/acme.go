package config

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// ACME gets certificates for names automatically from an ACME CA (Let's
// Encrypt by default) and renews them when a third of their lifetime is
// left. Exactly one LB node orders or renews a name at a time; every node
// answers the CA's HTTP-01 challenges (on its plain HTTP frontends, before
// any rule) and TLS-ALPN-01 challenges (on its TLS frontends), so the CA
// may reach whichever node holds the VIP. An obtained certificate is
// stored in the cluster as certificate "acme:NAME" (tandem cert list) and
// served by SNI on the frontends of FromFrontends, beside their own.
type ACME struct {
	// Email is the ACME account's contact, where the CA writes about
	// problems with the certificates. Required for public CAs (Let's
	// Encrypt, ZeroSSL); optional for a private one.
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// DirectoryURL is the CA's ACME directory (https). Default: Let's
	// Encrypt's production directory, DefaultACMEDirectory.
	DirectoryURL string `yaml:"directory_url,omitempty" json:"directory_url,omitempty"`
	// Names are the DNS names to get certificates for, one certificate
	// each. They must resolve to the VIP (or to every LB node): the CA
	// checks them by connecting to port 80 (HTTP-01) or 443 (TLS-ALPN-01).
	// Wildcards need DNS-01, which tandem does not do.
	Names []string `yaml:"names" json:"names"`
	// FromFrontends are the TLS frontends that serve the ACME
	// certificates. Default: every frontend with tls. A frontend listed
	// here needs no certificate of its own (it refuses handshakes until
	// the first ACME certificate arrives).
	FromFrontends []string `yaml:"from_frontends,omitempty" json:"from_frontends,omitempty"`
	// CARoots names a file of Files with the PEM certificates that sign
	// the directory's HTTPS certificate, for a private CA (pebble's
	// test root, a company CA). Default: the system's roots.
	CARoots string `yaml:"ca_roots,omitempty" json:"ca_roots,omitempty"`
}

// DefaultACMEDirectory is Let's Encrypt's production ACME directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// acmeCertPrefix starts the store name of every ACME certificate; ':' is
// not allowed in names given to tandem cert add, so the two never clash.
const acmeCertPrefix = "acme:"

// ACMECertificateName is the cluster certificate store name of the ACME
// certificate for a DNS name.
func ACMECertificateName(dnsName string) string { return acmeCertPrefix + dnsName }

// IsACMECertificateName reports whether a store name is an ACME
// certificate's, and for which DNS name.
func IsACMECertificateName(name string) (dnsName string, ok bool) {
	dnsName, ok = strings.CutPrefix(name, acmeCertPrefix)
	return dnsName, ok && ValidDNSName(dnsName) == nil
}

// Directory is DirectoryURL or the default.
func (a *ACME) Directory() string {
	if a.DirectoryURL == "" {
		return DefaultACMEDirectory
	}
	return a.DirectoryURL
}

// ACMEServes reports whether frontend f serves the ACME certificates.
func (c *Cluster) ACMEServes(f *Frontend) bool {
	a := c.ACME
	if a == nil || f.TLS == nil {
		return false
	}
	return len(a.FromFrontends) == 0 || slices.Contains(a.FromFrontends, f.Name)
}

// ACMEFrontends are the frontends that serve the ACME certificates.
func (c *Cluster) ACMEFrontends() []string {
	var out []string
	for i := range c.Frontends {
		if c.ACMEServes(&c.Frontends[i]) {
			out = append(out, c.Frontends[i].Name)
		}
	}
	return out
}

// publicACMECAs need an account e-mail address (ZeroSSL refuses an
// account without one; Let's Encrypt writes to it about the account).
var publicACMECAs = []string{"acme-v02.api.letsencrypt.org", "acme-staging-v02.api.letsencrypt.org", "acme.zerossl.com"}

func (c *Cluster) validateACME(es *Errors) {
	a := c.ACME
	if a == nil {
		return
	}
	u, err := url.Parse(a.Directory())
	switch {
	case err != nil:
		es.add("acme.directory_url", "%v", err)
	case u.Scheme != "https" || u.Host == "":
		es.add("acme.directory_url", "want an https URL like %s (got %q)", DefaultACMEDirectory, a.DirectoryURL)
	}
	if a.Email == "" && u != nil && slices.Contains(publicACMECAs, u.Hostname()) {
		es.add("acme.email", "required by %s: the account's contact address", u.Hostname())
	}
	if a.Email != "" && (strings.Count(a.Email, "@") != 1 || strings.ContainsAny(a.Email, " \t,<>:") ||
		strings.HasPrefix(a.Email, "@") || strings.HasSuffix(a.Email, "@")) {
		es.add("acme.email", "%q is not an e-mail address", a.Email)
	}
	if len(a.Names) == 0 {
		es.add("acme.names", "at least one DNS name is required")
	}
	seen := map[string]bool{}
	for i, n := range a.Names {
		path := fmt.Sprintf("acme.names[%d]", i)
		if err := ValidDNSName(n); err != nil {
			es.add(path, "%v", err)
		} else if seen[n] {
			es.add(path, "duplicate name %q", n)
		}
		seen[n] = true
	}
	for i, fe := range a.FromFrontends {
		path := fmt.Sprintf("acme.from_frontends[%d]", i)
		f := c.frontend(fe)
		switch {
		case f == nil:
			es.add(path, "frontend %q does not exist", fe)
		case f.TLS == nil:
			es.add(path, "frontend %q has no tls: ACME certificates are served by TLS frontends", fe)
		}
	}
	if a.CARoots != "" {
		pem, ok := c.Files[a.CARoots]
		if !ok {
			es.add("acme.ca_roots", "file %q is not in files", a.CARoots)
		} else if !x509.NewCertPool().AppendCertsFromPEM([]byte(pem)) {
			es.add("acme.ca_roots", "file %q holds no PEM certificate", a.CARoots)
		}
	}
}

func (c *Cluster) frontend(name string) *Frontend {
	for i := range c.Frontends {
		if c.Frontends[i].Name == name {
			return &c.Frontends[i]
		}
	}
	return nil
}

// ValidDNSName checks a name an ACME CA can validate over HTTP-01 or
// TLS-ALPN-01: lower-case letters, digits and '-' in dot-separated labels
// of 1 to 63 characters that neither start nor end with '-', at most 253
// characters, at least two labels, not an IP address, no wildcard.
func ValidDNSName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case strings.HasPrefix(name, "*."):
		return fmt.Errorf("%q is a wildcard: it needs the DNS-01 challenge, which tandem does not do; list each name", name)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("%q: write the name without the trailing dot", name)
	case len(name) > 253:
		return fmt.Errorf("%q is longer than 253 characters", name)
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return fmt.Errorf("%q is an IP address, not a DNS name", name)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a fully qualified DNS name (like www.example.com)", name)
	}
	for _, l := range labels {
		if err := validLabel(l); err != nil {
			return fmt.Errorf("%q is not a valid DNS name: %s", name, err)
		}
	}
	return nil
}

func validLabel(l string) error {
	if l == "" || len(l) > 63 {
		return fmt.Errorf("label %q must have 1 to 63 characters", l)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for i := 0; i < len(l); i++ {
		switch ch := l[i]; {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '-':
		case ch >= 'A' && ch <= 'Z':
			return fmt.Errorf("label %q has upper case: write names in lower case", l)
		default:
			return fmt.Errorf("label %q has %q: only a-z, 0-9 and '-' are allowed", l, ch)
		}
	}
	return nil
}

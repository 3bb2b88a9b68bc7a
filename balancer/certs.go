package balancer

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/balancer/tlskey"
	"github.com/tandem-lb/tandem/config"
)

// certIndex chooses a frontend's certificate for a handshake by the name
// the client asks for (SNI): an exact name first, then a wildcard one
// label up ("*.example.com" for "www.example.com"), else the default
// certificate, or a refused handshake with strict SNI. Where two
// certificates serve a name (ECDSA and RSA), the first the client
// supports wins, ECDSA first. RSA keys sign with OpenSSL where the build
// has it (balancer/tlskey). It is immutable once built.
type certIndex struct {
	exact  map[string][]*tls.Certificate // by lower-case name
	wild   map[string][]*tls.Certificate // by the domain under the "*."
	def    []*tls.Certificate
	strict bool
	// excluded are, by lower-case name, the certificates whose SNI filter
	// excludes that name ("!name"): their wildcards do not serve it.
	excluded map[string][]*tls.Certificate
	// byName is each certificate by the name the config gives it.
	byName map[string]*tls.Certificate
}

var errNoCertificate = errors.New("no certificate for the server name the client asked for (strict SNI)")

// certificate is tls.Config.GetCertificate.
func (ix *certIndex) certificate(chi *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(chi.ServerName, "."))
	cands := ix.exact[name]
	if len(cands) == 0 && name != "" {
		if i := strings.IndexByte(name, '.'); i > 0 {
			cands = ix.wild[name[i+1:]]
			if ex := ix.excluded[name]; len(ex) > 0 {
				cands = slices.DeleteFunc(slices.Clone(cands), func(c *tls.Certificate) bool { return slices.Contains(ex, c) })
			}
		}
	}
	if len(cands) == 0 {
		if ix.strict || len(ix.def) == 0 {
			return nil, errNoCertificate
		}
		cands = ix.def
	}
	for _, c := range cands {
		if chi.SupportsCertificate(c) == nil {
			return c, nil
		}
	}
	return cands[0], nil
}

// buildCertIndex indexes the certificates of t, and those of optional
// that load finds (ACME certificates not obtained yet are skipped); load
// returns each by the name t uses.
func buildCertIndex(t *config.TLS, optional []string, load func(name string) (*tls.Certificate, error)) (*certIndex, error) {
	ix := &certIndex{exact: map[string][]*tls.Certificate{}, wild: map[string][]*tls.Certificate{}, strict: t.StrictSNI,
		excluded: map[string][]*tls.Certificate{}}
	names := t.CertificateNames()
	byName := map[string]*tls.Certificate{}
	for _, n := range names {
		c, err := load(n)
		if err != nil {
			return nil, err
		}
		byName[n] = tlskey.Wrap(c)
	}
	for _, n := range optional {
		if c, err := load(n); err == nil {
			byName[n] = tlskey.Wrap(c)
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		ix.byName = byName
		return ix, nil // every handshake is refused until a certificate arrives
	}
	filters := map[string][]string{}
	for _, f := range t.SNI {
		filters[f.Certificate] = append(filters[f.Certificate], f.Names...)
	}
	for _, n := range names {
		c := byName[n]
		for _, f := range filters[n] {
			// As HAProxy's ssl_sock_chose_sni_ctx: a wildcard match is
			// skipped when the same crt-list line excludes the name.
			if ex, ok := strings.CutPrefix(f, "!"); ok {
				ex = strings.ToLower(ex)
				ix.excluded[ex] = append(ix.excluded[ex], c)
			}
		}
		for _, sn := range serves(c, filters[n]) {
			if d, ok := strings.CutPrefix(sn, "*."); ok {
				ix.wild[d] = appendCert(ix.wild[d], c)
			} else {
				ix.exact[sn] = appendCert(ix.exact[sn], c)
			}
		}
	}
	def := names[0]
	if t.DefaultCertificate != "" {
		def = t.DefaultCertificate
	}
	ix.def = []*tls.Certificate{byName[def]}
	ix.byName = byName
	return ix, nil
}

// serves is the names a certificate serves: its DNS SANs and its
// subject's common name (HAProxy 2.6 indexes both, ckch_inst_new_load_store),
// or the SNI filter given for it, less the names the filter excludes with
// "!".
func serves(c *tls.Certificate, filter []string) []string {
	var own []string
	if leaf := c.Leaf; leaf != nil {
		own = leaf.DNSNames
		if cn := leaf.Subject.CommonName; cn != "" && !slices.Contains(own, cn) {
			own = append(slices.Clone(own), cn)
		}
	}
	var pos, neg []string
	for _, f := range filter {
		if n, ok := strings.CutPrefix(f, "!"); ok {
			neg = append(neg, strings.ToLower(n))
		} else {
			pos = append(pos, strings.ToLower(f))
		}
	}
	if len(pos) == 0 {
		for _, n := range own {
			pos = append(pos, strings.ToLower(n))
		}
	}
	return slices.DeleteFunc(pos, func(n string) bool { return slices.Contains(neg, n) })
}

// appendCert adds c to a name's candidates, ECDSA ones first.
func appendCert(list []*tls.Certificate, c *tls.Certificate) []*tls.Certificate {
	if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); ok {
		return append([]*tls.Certificate{c}, list...)
	}
	return append(list, c)
}

// loadCertFile reads a certificate from a PEM file on this node: the
// certificate chain and its key in one file, or the key in PATH.key, as
// HAProxy looks for it. keyFile, when set, names the key's file.
func loadCertFile(path, keyFile string) (*tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	key := data
	if keyFile != "" && keyFile != path {
		if key, err = os.ReadFile(keyFile); err != nil {
			return nil, fmt.Errorf("read key %s: %w", keyFile, err)
		}
	} else if !strings.Contains(string(data), "PRIVATE KEY-----") {
		if key, err = os.ReadFile(path + ".key"); err != nil {
			return nil, fmt.Errorf("certificate %s has no private key, and %s.key: %w", path, path, err)
		}
	}
	c, err := tls.X509KeyPair(data, key)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s: %w", path, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse certificate %s: %w", path, err)
		}
	}
	return &c, nil
}

// CertificateStats is one certificate a frontend serves now.
type CertificateStats struct {
	Frontend string
	Name     string // as the config names it: a store name or a PEM path
	NotAfter time.Time
}

// Certificates lists the certificates every TLS frontend serves, by
// frontend then name, with their expiry (the leaf's not-after).
func (b *Balancer) Certificates() []CertificateStats {
	snap := b.cur.Load()
	if snap.cluster == nil {
		return nil
	}
	var out []CertificateStats
	for i := range snap.cluster.Frontends {
		fe := snap.frontends[snap.cluster.Frontends[i].Name]
		if fe == nil || fe.tls == nil {
			continue
		}
		ix := fe.tls.certs.Load()
		names := slices.Sorted(maps.Keys(ix.byName))
		for _, n := range names {
			cs := CertificateStats{Frontend: fe.name, Name: n}
			if c := ix.byName[n]; c != nil && c.Leaf != nil { // set by every loader
				cs.NotAfter = c.Leaf.NotAfter
			}
			out = append(out, cs)
		}
	}
	return out
}

package balancer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tandem-lb/tandem/config"
)

// frontendTLS is the TLS side of a frontend: its tls.Config, whose
// certificate is chosen at each handshake from an index swapped in place
// when certificates change (live, without touching listeners or the
// connections already open).
type frontendTLS struct {
	conf  *tls.Config
	certs atomic.Pointer[certIndex]
}

// newFrontendTLS builds the TLS side of frontend f of cluster c.
func newFrontendTLS(f *config.Frontend, c *config.Cluster, load func(string) (*tls.Certificate, error)) (*frontendTLS, error) {
	t := f.TLS
	ix, err := buildCertIndex(t, acmeCertNames(c, f), load)
	if err != nil {
		return nil, err
	}
	ft := &frontendTLS{}
	ft.certs.Store(ix)
	minV, err := config.TLSVersion(t.MinVersion, tls.VersionTLS12)
	if err != nil {
		return nil, err
	}
	maxV, err := config.TLSVersion(t.MaxVersion, tls.VersionTLS13)
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{
		MinVersion: minV, MaxVersion: maxV,
		GetCertificate: func(chi *tls.ClientHelloInfo) (*tls.Certificate, error) { return ft.certs.Load().certificate(chi) },
	}
	if t.Ciphers != "" {
		if conf.CipherSuites, err = config.ParseCiphers(t.Ciphers); err != nil {
			return nil, err
		}
	}
	if t.Curves != "" {
		if conf.CurvePreferences, err = config.ParseCurves(t.Curves); err != nil {
			return nil, err
		}
	}
	conf.SessionTicketsDisabled = t.NoTickets
	switch {
	case t.OffersNoALPN():
	case len(t.ALPN) > 0:
		conf.NextProtos = t.ALPN
	case f.Mode != config.ModeTCP:
		conf.NextProtos = []string{"h2", "http/1.1"}
	}
	if err := clientAuth(conf, t.ClientAuth, c.Files); err != nil {
		return nil, err
	}
	ft.conf = conf
	return ft, nil
}

// clientAuth sets up client certificate verification (HAProxy's verify,
// ca-file, crl-file): optional accepts a client without a certificate but
// not one with an invalid certificate, as HAProxy.
func clientAuth(conf *tls.Config, ca *config.ClientAuth, files map[string]string) error {
	if ca == nil || ca.Verify == "" || ca.Verify == "none" {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(files[ca.CA])) {
		return fmt.Errorf("client CA file %q holds no PEM certificate", ca.CA)
	}
	conf.ClientCAs = pool
	conf.ClientAuth = tls.VerifyClientCertIfGiven
	if ca.Verify == "required" {
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	revoked, err := config.RevokedSerials(files, ca.CRL)
	if err != nil || revoked == nil {
		return err
	}
	conf.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
		for _, chain := range chains {
			if len(chain) > 0 && revoked[chain[0].SerialNumber.String()] {
				return errRevoked
			}
		}
		return nil
	}
	return nil
}

var errRevoked = errors.New("the client certificate is revoked (CRL)")

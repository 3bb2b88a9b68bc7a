package agent

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"

	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// certCache keeps the store's certificates opened (their keys unsealed
// and parsed) while they do not change, so a reconcile hands the balancer
// the same *tls.Certificate values and it rebuilds nothing.
type certCache struct {
	byName map[string]openedCert
}

type openedCert struct {
	chain, sealed string
	cert          *tls.Certificate
}

// certificates opens the store certificates config c names (a.mu held).
// One that cannot be opened is left out: the balancer then refuses the
// config, naming it.
func (a *Agent) certificates(c *config.Cluster, store map[string]cluster.StoredCertificate) map[string]*tls.Certificate {
	names := cluster.StoreNames(c)
	maps.Copy(names, cluster.ACMEStoreNames(c))
	if len(names) == 0 {
		return nil
	}
	if a.certs.byName == nil {
		a.certs.byName = map[string]openedCert{}
	}
	out := make(map[string]*tls.Certificate, len(names))
	for name := range names {
		sc, ok := store[name]
		if !ok {
			continue
		}
		if o, ok := a.certs.byName[name]; ok && o.chain == sc.Chain && o.sealed == string(sc.SealedKey) {
			out[name] = o.cert
			continue
		}
		cert, err := openCertificate(a.cfg.Cluster.ClusterKey, name, sc)
		if err != nil {
			a.logger.Error("open certificate", "cert", name, "err", err)
			continue
		}
		a.certs.byName[name] = openedCert{chain: sc.Chain, sealed: string(sc.SealedKey), cert: cert}
		out[name] = cert
	}
	return out
}

// openCertificate unseals a stored certificate's key and parses the pair.
func openCertificate(clusterKey []byte, name string, sc cluster.StoredCertificate) (*tls.Certificate, error) {
	keyPEM, err := cluster.OpenKey(clusterKey, name, sc.SealedKey)
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair([]byte(sc.Chain), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", name, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate %s: %w", name, err)
		}
	}
	return &c, nil
}

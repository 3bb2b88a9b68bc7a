package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// Certificates lists the store (api.CertNode).
func (n nodeAPI) Certificates() []api.CertificateInfo {
	st := n.a.node.State()
	out := make([]api.CertificateInfo, 0, len(st.Certificates))
	for name, c := range st.Certificates {
		out = append(out, api.CertificateInfo{Name: name, Names: c.Names, Issuer: c.Issuer, NotAfter: c.NotAfter,
			UsedBy: cluster.CertificateUsers(st.Config, name), Node: c.Node, Time: c.Time})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddCertificate checks a certificate and its key, seals the key with the
// cluster key and stores both (api.CertNode).
func (n nodeAPI) AddCertificate(ctx context.Context, req api.CertificateRequest) error {
	sc, err := checkCertificate(req, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	sc.SealedKey, err = cluster.SealKey(n.a.cfg.Cluster.ClusterKey, req.Name, []byte(req.Key))
	if err != nil {
		return fmt.Errorf("%w: certificate %s: %w", api.ErrBadRequest, req.Name, err)
	}
	sc.Node, sc.Time = n.a.cfg.Cluster.Node, time.Now().UTC()
	_, err = n.a.node.Apply(ctx, cluster.SetCertificate{Name: req.Name, Certificate: sc})
	return clusterErrorKind(err)
}

// RemoveCertificate removes a certificate no frontend serves.
func (n nodeAPI) RemoveCertificate(ctx context.Context, name string) error {
	_, err := n.a.node.Apply(ctx, cluster.DeleteCertificate{Name: name, Node: n.a.cfg.Cluster.Node, Time: time.Now().UTC()})
	return clusterErrorKind(err)
}

// checkCertificate refuses what would not serve: a name tandem cannot
// use, a chain without a certificate, a key that is not the leaf's, a
// certificate that has expired. It describes the leaf for the store.
func checkCertificate(req api.CertificateRequest, now time.Time) (cluster.StoredCertificate, error) {
	var sc cluster.StoredCertificate
	if !config.ValidName(req.Name) {
		return sc, fmt.Errorf("certificate name %q: use letters, digits, '.', '_' and '-' (at most 64)", req.Name)
	}
	if !strings.Contains(req.Cert, "-----BEGIN CERTIFICATE-----") {
		return sc, fmt.Errorf("certificate %s: the certificate file holds no PEM certificate", req.Name)
	}
	if !strings.Contains(req.Key, "PRIVATE KEY-----") {
		return sc, fmt.Errorf("certificate %s: the key file holds no PEM private key", req.Name)
	}
	pair, err := tls.X509KeyPair([]byte(req.Cert), []byte(req.Key))
	if err != nil {
		return sc, fmt.Errorf("certificate %s: %w", req.Name, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return sc, fmt.Errorf("certificate %s: %w", req.Name, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return sc, fmt.Errorf("certificate %s expired on %s", req.Name, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	names := slices.Clone(leaf.DNSNames)
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	// Only the certificates travel in the clear: a cert file that also
	// holds the key (HAProxy's usual PEM) must not put it in the log.
	var chain strings.Builder
	for _, der := range pair.Certificate {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return cluster.StoredCertificate{Chain: chain.String(), Names: names, Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter.UTC()}, nil
}

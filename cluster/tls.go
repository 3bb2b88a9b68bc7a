package cluster

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Raft and forwarded writes travel over mutual TLS 1.3. By default the
// trust root is derived from the cluster key, so that a node holding the
// key can prove it without any file: HKDF-SHA256(key, "tandem raft ca")
// seeds an ed25519 key, from which every node builds the same self-signed
// CA certificate (fixed subject, serial and validity). Each node then
// issues itself a fresh leaf certificate signed by that CA at start. Both
// ends present their leaf and verify the peer's against the CA, so a node
// with another key fails the handshake. Operators with their own PKI pass
// TLSCA/TLSCert/TLSKey instead.

const caInfo = "tandem raft ca"

// errWrongKey is the verification failure of a peer certificate.
var errWrongKey = errors.New("peer certificate not signed by this cluster's key — is cluster_key the same on every node?")

var (
	caNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caNotAfter  = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// deriveCA returns the CA certificate and key every holder of key derives.
func deriveCA(key []byte) (*x509.Certificate, ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, key, nil, caInfo, ed25519.SeedSize)
	if err != nil {
		return nil, nil, fmt.Errorf("derive raft CA: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tandem cluster CA"},
		NotBefore:             caNotBefore,
		NotAfter:              caNotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	// ed25519 signatures are deterministic, so every node gets the same bytes.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, nil, fmt.Errorf("derive raft CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("derive raft CA: %w", err)
	}
	return ca, priv, nil
}

// issueLeaf signs a fresh certificate for node with the CA key.
func issueLeaf(node string, ca *x509.Certificate, caKey ed25519.PrivateKey, now time.Time) (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: node},
		DNSNames:     []string{"tandem-raft"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue raft certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// keyTLSConfig is the mutual-TLS config derived from the cluster key.
func keyTLSConfig(node string, key []byte, now time.Time) (*tls.Config, error) {
	ca, caKey, err := deriveCA(key)
	if err != nil {
		return nil, err
	}
	leaf, err := issueLeaf(node, ca, caKey, now)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return mutualTLS(leaf, pool, errWrongKey), nil
}

// fileTLSConfig is the mutual-TLS config from the operator's own CA.
func fileTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls_ca %s: no PEM certificate found", caFile)
	}
	leaf, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert/tls_key: %w", err)
	}
	return mutualTLS(leaf, pool, fmt.Errorf("peer certificate not signed by tls_ca %s — is the same CA configured on every node?", caFile)), nil
}

// mutualTLS requires TLS 1.3 and a peer certificate chaining to pool on
// both ends. Verification is done in VerifyConnection so that it ignores
// host names (peers are dialled by IP) and names the likely cause.
func mutualTLS(leaf tls.Certificate, pool *x509.CertPool, wrong error) *tls.Config {
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			return wrong
		}
		return nil
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{leaf},
		ClientAuth:         tls.RequireAnyClientCert,
		InsecureSkipVerify: true, // verified by VerifyConnection against the cluster CA
		VerifyConnection:   verify,
		ServerName:         "tandem-raft",
	}
}

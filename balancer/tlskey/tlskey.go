package tlskey

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
)

// Wrap returns c with its private key replaced by a signer that computes
// RSA signatures with OpenSSL (in builds with the "openssl" tag); c itself
// is not modified. Certificates whose key is not RSA, all of them in a
// build without OpenSSL, and a key libcrypto refuses (Go's crypto/rsa
// then signs, as without OpenSSL) come back as they are.
func Wrap(c *tls.Certificate) *tls.Certificate {
	k, ok := c.PrivateKey.(*rsa.PrivateKey)
	if !ok || !Available() {
		return c
	}
	s, err := newSigner(k)
	if err != nil {
		return c
	}
	w := *c
	w.PrivateKey = s
	return &w
}

// Signer is the RSA signer Wrap puts in a certificate.
type Signer interface {
	crypto.Signer
	// Key is the Go private key the signer was made from.
	Key() *rsa.PrivateKey
}

//go:build openssl && cgo

package tlskey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
)

// When libcrypto cannot make a signature (here its copy of the key is an
// EC key, which refuses RSA padding), Go makes it: the handshake does not
// fail, and the signature verifies.
func TestLibcryptoFailureFallsBackToGo(t *testing.T) {
	k := rsaKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signerFor(k, der)
	if err != nil {
		t.Fatal(err)
	}
	dg := make([]byte, 32)
	rand.Read(dg)
	opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	if _, err := s.Sign(failingReader{}, dg, opts); err == nil {
		t.Fatal("signed without randomness: libcrypto's failure did not reach Go's fallback")
	}
	sig, err := s.Sign(rand.Reader, dg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(&k.PublicKey, crypto.SHA256, dg, sig, opts); err != nil {
		t.Fatalf("the fallback signature does not verify: %v", err)
	}
}

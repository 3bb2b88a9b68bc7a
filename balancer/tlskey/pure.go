//go:build !openssl || !cgo

package tlskey

import (
	"crypto/rsa"
	"errors"
)

// Available reports whether RSA signatures are computed by OpenSSL: not in
// this build (without the "openssl" tag or without cgo).
func Available() bool { return false }

// Backend names what computes RSA signatures, for the agent's first log line.
func Backend() string { return "Go crypto/rsa" }

// opensslSigner does not exist in this build: Wrap never makes one (the
// type is here for the code and tests that name it).
type opensslSigner struct{ Signer }

func newSigner(*rsa.PrivateKey) (*opensslSigner, error) {
	return nil, errors.New("tlskey: built without OpenSSL")
}

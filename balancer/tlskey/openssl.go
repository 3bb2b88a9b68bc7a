//go:build openssl && cgo

package tlskey

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static EVP_PKEY *tandem_parse_key(const unsigned char *der, long n) {
	const unsigned char *p = der;
	return d2i_AutoPrivateKey(NULL, &p, n);
}

// tandem_sign signs the digest dg (dn bytes, computed with md) with pkey:
// with RSA-PSS and a salt of saltlen bytes (or one of OpenSSL's
// RSA_PSS_SALTLEN_* values) when pss is 1, else with PKCS #1 v1.5. It
// returns the signature's length (at most sn), or 0 when OpenSSL failed.
static size_t tandem_sign(EVP_PKEY *pkey, int pss, int saltlen, const EVP_MD *md,
		const unsigned char *dg, size_t dn, unsigned char *sig, size_t sn) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t out = 0;
	if (ctx == NULL)
		return 0;
	if (EVP_PKEY_sign_init(ctx) <= 0)
		goto done;
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0)
		goto done;
	if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		goto done;
	if (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) <= 0)
		goto done;
	out = sn;
	if (EVP_PKEY_sign(ctx, sig, &out, dg, dn) <= 0)
		out = 0;
done:
	EVP_PKEY_CTX_free(ctx);
	return out;
}

static const EVP_MD *tandem_md(int bits) {
	switch (bits) {
	case 256: return EVP_sha256();
	case 384: return EVP_sha384();
	case 512: return EVP_sha512();
	}
	return NULL;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"runtime"
	"unsafe"
)

// Available reports whether RSA signatures are computed by OpenSSL.
func Available() bool { return true }

// Backend names what computes RSA signatures, for the agent's first log line.
func Backend() string {
	return C.GoString(C.OpenSSL_version(C.OPENSSL_VERSION)) + " (libcrypto)"
}

// opensslSigner is a crypto.Signer over a copy of an RSA key in libcrypto.
type opensslSigner struct {
	key  *rsa.PrivateKey
	pkey *C.EVP_PKEY
}

func newSigner(k *rsa.PrivateKey) (*opensslSigner, error) {
	der := x509.MarshalPKCS1PrivateKey(k)
	defer clear(der)
	return signerFor(k, der)
}

// signerFor is a signer for k whose libcrypto copy is parsed from der (k's
// own DER but in tests).
func signerFor(k *rsa.PrivateKey, der []byte) (*opensslSigner, error) {
	p := C.tandem_parse_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if p == nil {
		return nil, errors.New("tlskey: libcrypto refused the RSA key")
	}
	s := &opensslSigner{key: k, pkey: p}
	runtime.AddCleanup(s, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, p)
	return s, nil
}

func (s *opensslSigner) Public() crypto.PublicKey { return &s.key.PublicKey }

func (s *opensslSigner) Key() *rsa.PrivateKey { return s.key }

// Sign signs digest as rsa.PrivateKey.Sign does: RSA-PSS when opts is an
// *rsa.PSSOptions, PKCS #1 v1.5 otherwise. OpenSSL draws the PSS salt and
// the blinding factor from its own generator, so rand is used only by the
// Go fallback.
func (s *opensslSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	if (h != crypto.SHA256 && h != crypto.SHA384 && h != crypto.SHA512) || len(digest) != h.Size() {
		return s.key.Sign(rand, digest, opts)
	}
	md := C.tandem_md(C.int(h.Size() * 8))
	pss, salt := C.int(0), C.int(0)
	if o, ok := opts.(*rsa.PSSOptions); ok {
		pss = 1
		switch {
		case o.SaltLength == rsa.PSSSaltLengthEqualsHash:
			salt = C.RSA_PSS_SALTLEN_DIGEST
		case o.SaltLength == rsa.PSSSaltLengthAuto:
			salt = C.RSA_PSS_SALTLEN_MAX
		case o.SaltLength > 0:
			salt = C.int(o.SaltLength)
		default:
			return s.key.Sign(rand, digest, opts)
		}
	}
	sig := make([]byte, s.key.Size())
	n := C.tandem_sign(s.pkey, pss, salt, md, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	runtime.KeepAlive(s)
	if n == 0 {
		// libcrypto failed (its configuration, a provider it could not
		// load): the handshake still gets its signature, from Go.
		return s.key.Sign(rand, digest, opts)
	}
	return sig[:n], nil
}

// Package tlskey signs the TLS handshakes of a frontend's RSA certificates
// with OpenSSL's libcrypto when tandem is built with the "openssl" tag (the
// Makefile's static build), and with Go's crypto/rsa otherwise.
//
// Why: an RSA 2048 signature, which every full handshake with an RSA
// certificate costs the server, takes Go's constant-time crypto/rsa about
// 4x as long as OpenSSL on x86-64 (1.43 ms against 0.35 ms on the CI
// host, which has AVX-512 IFMA for OpenSSL's RSAZ code), so full RSA
// handshakes ran at about half HAProxy's rate. Everything else in the
// handshake (key exchange, key schedule, record encryption, ECDSA) stays in
// Go, which is as fast as OpenSSL there.
//
// Invariants:
//   - Wrap returns a certificate that serves the same chain with the same
//     key: only who computes the signature changes. The signer keeps the Go
//     key and falls back to it for any signature OpenSSL is not asked for
//     (a hash other than SHA-256/384/512, a salt length it cannot express)
//     and for any signature libcrypto fails to make.
//   - Keys that are not RSA are returned unchanged.
//   - The key's copy in libcrypto is freed when the signer is unreachable.
//
// It imports only the standard library (and libcrypto through cgo).
package tlskey

package balancer

import (
	"bytes"
	"crypto/tls"
	"slices"

	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// ChallengeSource answers the ACME CA's challenges for the names the
// cluster gets certificates for (package acme reads them from the
// replicated state, so any node answers whichever node ordered). Its
// methods are called on connections and must not block.
type ChallengeSource interface {
	// HTTPChallenge returns the key authorization for an HTTP-01 request
	// for token on host (without port), if that challenge is pending.
	HTTPChallenge(host, token string) (keyAuth string, ok bool)
	// TLSALPNChallenge returns the TLS-ALPN-01 certificate for serverName,
	// if that challenge is pending.
	TLSALPNChallenge(serverName string) (*tls.Certificate, bool)
}

// acmeChallengePrefix starts the path of every HTTP-01 request (RFC 8555
// 8.3).
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// acmeTLSProto is the ALPN protocol of TLS-ALPN-01 (RFC 8737).
const acmeTLSProto = "acme-tls/1"

// acmeToken returns the token of an HTTP-01 request target
// ("/.well-known/acme-challenge/TOKEN"): origin form, a non-empty token
// of base64url characters (RFC 8555 8.1), no query. ok is false for any
// other target, which then goes through the rules as usual.
func acmeToken(target []byte) (string, bool) {
	tok, ok := bytes.CutPrefix(target, []byte(acmeChallengePrefix))
	if !ok || len(tok) == 0 || len(tok) > 256 {
		return "", false
	}
	for _, c := range tok {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return string(tok), true
}

// hostOnly is a Host field without its port (IPv6 literals stay as they
// are: they are never ACME names).
func hostOnly(h []byte) string {
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && !bytes.Contains(h[:i], []byte(":")) {
		h = h[:i]
	}
	return string(h)
}

var valueACMEText = []byte("application/octet-stream")

// answerACME answers an HTTP-01 challenge request on a plain HTTP
// frontend from the ChallengeSource, before any rule runs (a redirect to
// https or an auth rule would otherwise make the CA fail). It reports
// whether it answered; ex.keep says whether the connection goes on.
func (b *Balancer) answerACME(ex *exchange) bool {
	if b.acme == nil || ex.fe.tls != nil || string(ex.req.Method) != "GET" {
		return false
	}
	token, ok := acmeToken(ex.req.Target)
	if !ok {
		return false
	}
	keyAuth, ok := b.acme.HTTPChallenge(hostOnly(ex.req.Host), token)
	if !ok {
		return false
	}
	if ex.bodyLen != 0 && !ex.reqBody.done {
		ex.keep = false
	}
	ex.term = "PR"
	b.answer(ex, 200, nil, []rules.Field{{Name: fieldContentType, Value: valueACMEText}}, []byte(keyAuth))
	return true
}

// answerALPN makes ft answer TLS-ALPN-01: a client that offers only
// "acme-tls/1" gets the challenge certificate for its server name and
// that protocol, and the handshake ends there (RFC 8737 3).
func (ft *frontendTLS) answerALPN(src ChallengeSource) {
	if src == nil {
		return
	}
	base := ft.conf
	base.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		if !slices.Equal(chi.SupportedProtos, []string{acmeTLSProto}) {
			return nil, nil
		}
		c, ok := src.TLSALPNChallenge(chi.ServerName)
		if !ok {
			return nil, nil
		}
		return &tls.Config{Certificates: []tls.Certificate{*c}, NextProtos: []string{acmeTLSProto}, MinVersion: tls.VersionTLS12}, nil
	}
}

// acmeCertNames are the store names of the ACME certificates frontend f
// serves beside its own (config.ACME.FromFrontends); each is served once
// the store has it.
func acmeCertNames(c *config.Cluster, f *config.Frontend) []string {
	if !c.ACMEServes(f) {
		return nil
	}
	out := make([]string, len(c.ACME.Names))
	for i, n := range c.ACME.Names {
		out[i] = config.ACMECertificateName(n)
	}
	return out
}

package acme

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mholt/acmez/v3"
	acmeproto "github.com/mholt/acmez/v3/acme"

	"github.com/tandem-lb/tandem/cluster"
)

// challengeKey is where the challenge being answered for a DNS name is
// kept in the ACME store: one per name, since one node at a time orders it.
func challengeKey(name string) string { return "challenges/" + name + ".json" }

// Answers answers the CA's challenges from the replicated state, on
// whichever node the CA reaches. Its methods are called by the balancer
// on connections; they read this node's committed state and never block.
type Answers struct {
	state func() *cluster.State

	mu    sync.Mutex
	certs map[string]*tls.Certificate // TLS-ALPN-01 certificates by key authorization

	httpAnswered, alpnAnswered atomic.Uint64
}

// NewAnswers answers from state (this node's committed state, e.g.
// (*cluster.Node).State).
func NewAnswers(state func() *cluster.State) *Answers {
	return &Answers{state: state, certs: map[string]*tls.Certificate{}}
}

// challenge is the challenge stored for host, if any.
func (a *Answers) challenge(host string) (acmeproto.Challenge, bool) {
	var ch acmeproto.Challenge
	st := a.state()
	if st == nil || st.ACME == nil {
		return ch, false
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	v, ok := st.ACME.Values[challengeKey(name)]
	if !ok || v.Sealed || json.Unmarshal(v.Value, &ch) != nil || ch.Identifier.Value != name {
		return ch, false
	}
	return ch, true
}

// HTTPChallenge returns the key authorization to answer to
// GET /.well-known/acme-challenge/TOKEN on host (the request's Host
// without its port), when the CA is validating host with that token.
func (a *Answers) HTTPChallenge(host, token string) (string, bool) {
	ch, ok := a.challenge(host)
	if !ok || ch.Type != acmeproto.ChallengeTypeHTTP01 || ch.Token != token || ch.KeyAuthorization == "" {
		return "", false
	}
	a.httpAnswered.Add(1)
	return ch.KeyAuthorization, true
}

// TLSALPNChallenge returns the certificate to present to a client that
// offers only the "acme-tls/1" protocol for serverName (RFC 8737).
func (a *Answers) TLSALPNChallenge(serverName string) (*tls.Certificate, bool) {
	ch, ok := a.challenge(serverName)
	if !ok || ch.Type != acmeproto.ChallengeTypeTLSALPN01 || ch.KeyAuthorization == "" {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.certs[ch.KeyAuthorization]
	if c == nil {
		var err error
		if c, err = acmez.TLSALPN01ChallengeCert(ch); err != nil {
			return nil, false
		}
		if len(a.certs) >= 64 { // challenges last seconds: forget the old ones
			clear(a.certs)
		}
		a.certs[ch.KeyAuthorization] = c
	}
	a.alpnAnswered.Add(1)
	return c, true
}

// Answered counts the challenges this node answered, by type.
func (a *Answers) Answered() (http01, tlsALPN01 uint64) {
	return a.httpAnswered.Load(), a.alpnAnswered.Load()
}

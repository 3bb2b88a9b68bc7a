package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	acmeproto "github.com/mholt/acmez/v3/acme"
)

// issuer is a certmagic.Issuer on acmez (the ACME protocol) whose
// challenge solvers write to the replicated state, where every node's
// Answers finds them. Its account (key sealed) is in the same store, so
// every node orders with the one account.
type issuer struct {
	dir, email string
	client     *acmez.Client
	store      *Storage
	log        *slog.Logger

	mu      sync.Mutex
	account *acmeproto.Account // cached once loaded or registered
}

var _ certmagic.Issuer = (*issuer)(nil)

// httpTimeout bounds one request to the CA.
const httpTimeout = 30 * time.Second

func newIssuer(s settings, store *Storage, log *slog.Logger) *issuer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	iss := &issuer{dir: s.directory, email: s.email, store: store, log: log}
	sol := solver{store: store}
	iss.client = &acmez.Client{
		Client: &acmeproto.Client{Directory: s.directory, UserAgent: "tandem",
			HTTPClient: &http.Client{Transport: tr, Timeout: httpTimeout}, Logger: quiet(log)},
		ChallengeSolvers: map[string]acmez.Solver{
			acmeproto.ChallengeTypeHTTP01:    sol,
			acmeproto.ChallengeTypeTLSALPN01: sol,
		},
	}
	return iss
}

// IssuerKey implements certmagic.Issuer: the directory, as certmagic's
// own ACME issuer names it, so certificates are kept apart by CA.
func (i *issuer) IssuerKey() string { return issuerKey(i.dir) }

func issuerKey(dir string) string {
	key := dir
	if u, err := url.Parse(dir); err == nil && u.Host != "" {
		key = u.Host + u.Path
	}
	return certmagic.StorageKeys.Safe(key)
}

// Issue implements certmagic.Issuer: one order, its challenges, its
// certificate chain. An account the CA no longer knows is registered anew.
func (i *issuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	for attempt := 0; ; attempt++ {
		acct, err := i.loadAccount(ctx)
		if err != nil {
			return nil, err
		}
		params, err := acmez.OrderParametersFromCSR(acct, csr)
		if err != nil {
			return nil, fmt.Errorf("order parameters: %w", err)
		}
		certs, err := i.client.ObtainCertificate(ctx, params)
		var p acmeproto.Problem
		if errors.As(err, &p) && p.Type == acmeproto.ProblemTypeAccountDoesNotExist && attempt == 0 {
			i.log.Warn("the CA does not know the stored ACME account: registering a new one", "directory", i.dir)
			i.forgetAccount(ctx)
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(certs) == 0 {
			return nil, errors.New("the CA sent no certificate chain")
		}
		return &certmagic.IssuedCertificate{Certificate: certs[0].ChainPEM, Metadata: map[string]string{"url": certs[0].URL}}, nil
	}
}

func (i *issuer) accountKeys() (meta, key string) {
	prefix := "acme/" + i.IssuerKey() + "/account"
	return prefix + ".json", prefix + ".key"
}

// loadAccount returns the cluster's account with this CA, registering one
// when the store has none. Two nodes registering at once each get one;
// the one stored last is used from then on.
func (i *issuer) loadAccount(ctx context.Context) (acmeproto.Account, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.account != nil {
		return *i.account, nil
	}
	metaKey, keyKey := i.accountKeys()
	meta, err1 := i.store.Load(ctx, metaKey)
	keyPEM, err2 := i.store.Load(ctx, keyKey)
	if err1 == nil && err2 == nil {
		var acct acmeproto.Account
		block, _ := pem.Decode(keyPEM)
		if json.Unmarshal(meta, &acct) == nil && block != nil {
			if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
				acct.PrivateKey = k
				i.account = &acct
				return acct, nil
			}
		}
		i.log.Warn("the stored ACME account cannot be read: registering a new one", "directory", i.dir)
	}
	return i.register(ctx)
}

// register creates an account with the CA and stores it (i.mu held).
func (i *issuer) register(ctx context.Context) (acmeproto.Account, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return acmeproto.Account{}, fmt.Errorf("account key: %w", err)
	}
	acct := acmeproto.Account{TermsOfServiceAgreed: true, PrivateKey: key}
	if i.email != "" {
		acct.Contact = []string{"mailto:" + i.email}
	}
	acct, err = i.client.NewAccount(ctx, acct)
	if err != nil {
		return acmeproto.Account{}, fmt.Errorf("register an ACME account with %s: %w", i.dir, err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return acmeproto.Account{}, fmt.Errorf("account key: %w", err)
	}
	meta, err := json.Marshal(acct)
	if err != nil {
		return acmeproto.Account{}, fmt.Errorf("account: %w", err)
	}
	metaKey, keyKey := i.accountKeys()
	if err := i.store.Store(ctx, keyKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})); err != nil {
		return acmeproto.Account{}, err
	}
	if err := i.store.Store(ctx, metaKey, meta); err != nil {
		return acmeproto.Account{}, err
	}
	i.log.Info("registered an ACME account", "directory", i.dir, "account", acct.Location)
	i.account = &acct
	return acct, nil
}

func (i *issuer) forgetAccount(ctx context.Context) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.account = nil
	metaKey, keyKey := i.accountKeys()
	_ = i.store.Delete(ctx, metaKey)
	_ = i.store.Delete(ctx, keyKey)
}

// solver presents HTTP-01 and TLS-ALPN-01 challenges by writing them to
// the replicated state (Answers serves them on every node).
type solver struct{ store *Storage }

var _ acmez.Waiter = solver{}

// Present implements acmez.Solver.
func (s solver) Present(ctx context.Context, ch acmeproto.Challenge) error {
	b, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("present challenge for %s: %w", ch.Identifier.Value, err)
	}
	return s.store.Store(ctx, challengeKey(ch.Identifier.Value), b)
}

// Wait implements acmez.Waiter: before the CA is told to validate, one
// more commit makes sure the other nodes have applied the challenge.
func (s solver) Wait(ctx context.Context, _ acmeproto.Challenge) error { return s.store.sync(ctx) }

// CleanUp implements acmez.Solver.
func (s solver) CleanUp(ctx context.Context, ch acmeproto.Challenge) error {
	err := s.store.Delete(context.WithoutCancel(ctx), challengeKey(ch.Identifier.Value))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

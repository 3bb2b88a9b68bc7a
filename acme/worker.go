package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// worker keeps the certificates of one certmagic config; run keeps one
// name.
type worker struct {
	m   *Manager
	cmc *certmagic.Config
	iss *issuer
}

// run checks name, then waits for the next check (the renewal window, or
// the backoff after a failure), until ctx ends.
func (w *worker) run(ctx context.Context, name string) {
	st := NameStatus{Name: name}
	for {
		next, leaf, err := w.checkOnce(ctx, name)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		if leaf != nil {
			st.NotAfter, st.Serial = leaf.NotAfter, leaf.SerialNumber.Text(16)
		}
		if err != nil {
			st.Failures++
			st.Error, st.ErrorTime = err.Error(), now
			next = w.m.backoff(st.Failures)
			w.m.log.Error("certificate not obtained or renewed", "name", name, "err", err, "retry_in", next.String(), "failures", st.Failures)
		} else {
			st.Failures, st.Error, st.ErrorTime = 0, "", time.Time{}
		}
		st.NextCheck = now.Add(next)
		w.m.setStatus(st)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// checkOnce obtains the certificate when the store has none, renews it
// when a third of its lifetime is left, and publishes what the store
// holds. It returns when to look again.
func (w *worker) checkOnce(ctx context.Context, name string) (time.Duration, *x509.Certificate, error) {
	pair, leaf, err := w.load(ctx, name)
	switch {
	case errors.Is(err, errNoCertificate):
		if err = w.cmc.ObtainCertSync(ctx, name); err != nil {
			return 0, nil, fmt.Errorf("obtain a certificate for %s: %w", name, err)
		}
	case err != nil:
		return 0, nil, err
	case renewalDue(leaf, time.Now()):
		if err = w.cmc.RenewCertSync(ctx, name, false); err != nil {
			return 0, leaf, fmt.Errorf("renew the certificate of %s (expires %s): %w", name, leaf.NotAfter.UTC().Format(time.RFC3339), err)
		}
	default:
		return w.untilCheck(leaf, time.Now()), leaf, w.publish(ctx, name, pair, leaf)
	}
	// Obtained or renewed, here or by the node that held the lock.
	if pair, leaf, err = w.load(ctx, name); err != nil {
		return 0, leaf, err
	}
	if err := w.publish(ctx, name, pair, leaf); err != nil {
		return 0, leaf, err
	}
	return w.untilCheck(leaf, time.Now()), leaf, nil
}

// certPair is a certificate resource as certmagic stores it.
type certPair struct{ certPEM, keyPEM []byte }

// load reads name's certificate from the store (errNoCertificate when
// there is none).
func (w *worker) load(ctx context.Context, name string) (*certPair, *x509.Certificate, error) {
	ik := w.iss.IssuerKey()
	certPEM, err := w.cmc.Storage.Load(ctx, certmagic.StorageKeys.SiteCert(ik, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errNoCertificate
	}
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := w.cmc.Storage.Load(ctx, certmagic.StorageKeys.SitePrivateKey(ik, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errNoCertificate
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("stored certificate of %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("stored certificate of %s: %w", name, err)
	}
	return &certPair{certPEM: certPEM, keyPEM: keyPEM}, leaf, nil
}

// renewalDue is true once a third of leaf's lifetime is left.
func renewalDue(leaf *x509.Certificate, now time.Time) bool {
	return !now.Before(renewalStart(leaf))
}

func renewalStart(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotAfter.Add(-time.Duration(float64(life) * RenewalRatio))
}

// untilCheck is the wait before the next look: until the renewal window
// opens, at most CheckInterval.
func (w *worker) untilCheck(leaf *x509.Certificate, now time.Time) time.Duration {
	d := renewalStart(leaf).Sub(now) + 10*time.Millisecond
	return min(max(d, 10*time.Millisecond), w.m.cfg.CheckInterval)
}

// publish puts the certificate into the cluster's certificate store
// (acme:NAME), from which every node serves it, unless the store has it
// or a later one (another node renewed meanwhile).
func (w *worker) publish(ctx context.Context, name string, pair *certPair, leaf *x509.Certificate) error {
	storeName := config.ACMECertificateName(name)
	if cur, ok := w.m.r.State().Certificates[storeName]; ok && (cur.Chain == string(pair.certPEM) || !leaf.NotAfter.After(cur.NotAfter)) {
		return nil
	}
	sealedKey, err := cluster.SealKey(w.m.cfg.ClusterKey, storeName, pair.keyPEM)
	if err != nil {
		return fmt.Errorf("publish the certificate of %s: %w", name, err)
	}
	sc := cluster.StoredCertificate{Chain: string(pair.certPEM), SealedKey: sealedKey, Names: leaf.DNSNames,
		Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter.UTC(), Node: w.m.cfg.Node, Time: time.Now().UTC()}
	if _, err := w.m.r.Apply(ctx, cluster.SetCertificate{Name: storeName, Certificate: sc}); err != nil {
		return fmt.Errorf("publish the certificate of %s: %w", name, err)
	}
	w.m.log.Info("certificate published", "name", name, "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter.UTC())
	return nil
}

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/config/haproxy"
)

// loadOptions say how a haproxy.cfg is read.
type loadOptions struct {
	// lenient turns what tandem would serve differently from HAProxy into
	// warnings.
	lenient bool
	// haproxyDir is the directory HAProxy runs in: relative file names
	// of a cfg without default-path are read from it, as HAProxy reads
	// them ("": /, where systemd starts it).
	haproxyDir string
	// storeCerts names the cfg's crt files as certificates of the
	// cluster's store (read and checked here, to be added by
	// storeCertificates) instead of paths every node must have.
	storeCerts bool
}

// loaded is a cluster config read from a file, and the certificates its
// frontends name that are still to be stored in the cluster.
type loaded struct {
	cfg   *config.Cluster
	certs []api.CertificateRequest
}

// loadClusterFile reads a cluster config in YAML, JSON or haproxy.cfg form
// (detected), validates it, and prints import warnings to warn. A
// haproxy.cfg is imported strictly: what tandem would serve differently
// from HAProxy is an error; its certificates are paths on every node.
func loadClusterFile(path string, warn io.Writer) (*config.Cluster, error) {
	l, err := loadFile(path, warn, loadOptions{})
	return l.cfg, err
}

// loadFile reads a cluster config as loadOptions say.
func loadFile(path string, warn io.Writer, o loadOptions) (loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return loaded{}, fmt.Errorf("read cluster config: %w", err)
	}
	if !haproxy.Looks(data) {
		c, err := config.Load(path, data)
		return loaded{cfg: c}, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return loaded{}, fmt.Errorf("read cluster config: %w", err)
	}
	work := o.haproxyDir
	if work == "" {
		work = "/"
	}
	if work, err = filepath.Abs(work); err != nil {
		return loaded{}, fmt.Errorf("read cluster config: %w", err)
	}
	r, err := haproxy.Import(path, data, haproxy.Options{
		Env:               os.LookupEnv,
		Files:             haproxy.FromFS(os.DirFS("/"), work),
		ConfigDir:         dir,
		Lenient:           o.lenient,
		StoreCertificates: o.storeCerts,
	})
	for _, w := range r.Warnings {
		fmt.Fprintln(warn, w.String())
	}
	if err != nil {
		if !o.lenient {
			return loaded{}, fmt.Errorf("%w\n(what tandem would route, answer or check differently from HAProxy is refused; --lenient imports it with a warning each)", err)
		}
		return loaded{}, err
	}
	l := loaded{cfg: r.Cluster}
	var errs config.Errors
	for _, c := range r.Certificates {
		req, err := readCertificate(work, c, time.Now())
		if err != nil {
			errs = append(errs, config.FieldError{File: path, Line: c.Line, Msg: err.Error()})
			continue
		}
		l.certs = append(l.certs, req)
	}
	if len(errs) > 0 {
		return loaded{}, errs
	}
	return l, nil
}

// readCertificate reads and checks one crt file of a cfg (and its key
// file): a key that does not match, a PEM without a key or an expired
// certificate is an error naming the file.
func readCertificate(dir string, c haproxy.Certificate, now time.Time) (api.CertificateRequest, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	certPEM, err := os.ReadFile(abs(c.Cert))
	if err != nil {
		return api.CertificateRequest{}, fmt.Errorf("crt %s: %w", c.Cert, err)
	}
	keyPEM := certPEM
	if c.Key != c.Cert {
		if keyPEM, err = os.ReadFile(abs(c.Key)); err != nil {
			return api.CertificateRequest{}, fmt.Errorf("crt %s: key %w", c.Cert, err)
		}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return api.CertificateRequest{}, fmt.Errorf("crt %s: %w", c.Cert, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return api.CertificateRequest{}, fmt.Errorf("crt %s: %w", c.Cert, err)
	}
	if now.After(leaf.NotAfter) {
		return api.CertificateRequest{}, fmt.Errorf("crt %s: the certificate expired on %s", c.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return api.CertificateRequest{Name: c.Name, Cert: string(certPEM), Key: string(keyPEM)}, nil
}

// storeCertificates adds the certificates a haproxy.cfg names to the
// cluster's store (a renewed file replaces the stored one live).
func storeCertificates(ctx context.Context, cl *api.Client, certs []api.CertificateRequest, out io.Writer) error {
	for _, c := range certs {
		if err := cl.AddCertificate(ctx, c); err != nil {
			return fmt.Errorf("store certificate %s: %w", c.Name, err)
		}
		fmt.Fprintf(out, "certificate %s stored in the cluster\n", c.Name)
	}
	return nil
}

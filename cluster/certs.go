package cluster

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// StoredCertificate is a certificate in the replicated state (tandem cert
// add). Its private key is sealed (SealKey) before it reaches Raft: the
// log, snapshots and state.json never hold it in plaintext.
type StoredCertificate struct {
	// Chain is the PEM certificate chain, leaf first.
	Chain string `json:"chain"`
	// SealedKey is the PEM private key sealed with the cluster key.
	SealedKey []byte `json:"sealed_key"`
	// Names (DNS SANs), Issuer and NotAfter describe the leaf for lists.
	Names    []string  `json:"names,omitempty"`
	Issuer   string    `json:"issuer,omitempty"`
	NotAfter time.Time `json:"not_after"`
	Node     string    `json:"node,omitempty"` // who added it
	Time     time.Time `json:"time"`
}

// SetCertificate adds or replaces a certificate by name. Certificates
// change without a config version: the frontends that reference the name
// serve the new one at once.
type SetCertificate struct {
	Name        string            `json:"name"`
	Certificate StoredCertificate `json:"certificate"`
}

// DeleteCertificate removes a certificate; refused (ErrCertificateInUse)
// while the config references it.
type DeleteCertificate struct {
	Name string    `json:"name"`
	Node string    `json:"node"`
	Time time.Time `json:"time"`
}

// ErrCertificateInUse rejects removing a certificate a frontend serves.
var ErrCertificateInUse = errors.New("certificate in use")

// ErrUnknownCertificate rejects a config that names a certificate the
// store does not have, and removing one it does not have.
var ErrUnknownCertificate = errors.New("unknown certificate")

func (SetCertificate) commandType() cmdType    { return typeSetCertificate }
func (DeleteCertificate) commandType() cmdType { return typeDeleteCertificate }

func setCertificate(s *State, c SetCertificate) (*State, error) {
	if _, acme := config.IsACMECertificateName(c.Name); !acme && !config.ValidName(c.Name) {
		return nil, fmt.Errorf("set certificate %q: %w: want letters, digits, '.', '_' and '-'", c.Name, ErrInvalidCommand)
	}
	if c.Certificate.Chain == "" || len(c.Certificate.SealedKey) == 0 {
		return nil, fmt.Errorf("set certificate %q: %w: chain and sealed key required", c.Name, ErrInvalidCommand)
	}
	next := s.shallowCopy()
	next.Certificates = maps.Clone(s.Certificates)
	if next.Certificates == nil {
		next.Certificates = map[string]StoredCertificate{}
	}
	next.Certificates[c.Name] = c.Certificate
	return next, nil
}

func deleteCertificate(s *State, c DeleteCertificate) (*State, error) {
	if _, ok := s.Certificates[c.Name]; !ok {
		return nil, fmt.Errorf("remove certificate %q: %w", c.Name, ErrUnknownCertificate)
	}
	if users := CertificateUsers(s.Config, c.Name); len(users) > 0 {
		return nil, fmt.Errorf("remove certificate %q: %w by frontends %s: take it out of the config first", c.Name, ErrCertificateInUse, strings.Join(users, ", "))
	}
	next := s.shallowCopy()
	next.Certificates = maps.Clone(s.Certificates)
	delete(next.Certificates, c.Name)
	return next, nil
}

// StoreNames are the certificate names a config takes from the store:
// every TLS certificate that is not a file path (a name without "/").
func StoreNames(c *config.Cluster) map[string][]string {
	out := map[string][]string{}
	if c == nil {
		return out
	}
	for _, f := range c.Frontends {
		if f.TLS == nil {
			continue
		}
		for _, n := range f.TLS.CertificateNames() {
			if !strings.Contains(n, "/") && !slices.Contains(out[n], f.Name) {
				out[n] = append(out[n], f.Name)
			}
		}
	}
	return out
}

// CertificateUsers are the frontends of c that serve certificate name.
func CertificateUsers(c *config.Cluster, name string) []string {
	return append(StoreNames(c)[name], ACMEStoreNames(c)[name]...)
}

// missingCertificates are the store names c uses that s does not hold.
func missingCertificates(s *State, c *config.Cluster) []string {
	var out []string
	for n := range StoreNames(c) {
		if _, ok := s.Certificates[n]; !ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// sealKey derives the key that seals certificate keys from the cluster
// key (HKDF-SHA256), apart from every other use of the cluster key.
func sealKey(clusterKey []byte) ([]byte, error) {
	if len(clusterKey) == 0 {
		return nil, errors.New("no cluster key: certificates' private keys cannot be sealed (set cluster_key: tandem keygen)")
	}
	return hkdf.Key(sha256.New, clusterKey, []byte("tandem certificate keys"), "aes-256-gcm", 32)
}

// SealKey encrypts a certificate's PEM private key with AES-256-GCM under
// a key derived from the cluster key, bound to the certificate's name.
func SealKey(clusterKey []byte, name string, keyPEM []byte) ([]byte, error) {
	k, err := sealKey(clusterKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("seal key of %s: %w", name, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal key of %s: %w", name, err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal key of %s: %w", name, err)
	}
	return gcm.Seal(nonce, nonce, keyPEM, []byte(name)), nil
}

// OpenKey decrypts what SealKey sealed.
func OpenKey(clusterKey []byte, name string, sealed []byte) ([]byte, error) {
	k, err := sealKey(clusterKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("open key of %s: %w", name, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("open key of %s: %w", name, err)
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, fmt.Errorf("open key of %s: sealed key too short", name)
	}
	out, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("open key of %s: %w (was it sealed with another cluster key?)", name, err)
	}
	return out, nil
}

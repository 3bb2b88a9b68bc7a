package cluster

import (
	"bytes"
	"errors"
	"github.com/hashicorp/raft"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func TestSealedKeyRoundTripAndBinding(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	pemKey := []byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
	sealed, err := SealKey(key, "web", pemKey)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("PRIVATE KEY")) {
		t.Fatal("the sealed key holds the plaintext")
	}
	if got, err := OpenKey(key, "web", sealed); err != nil || !bytes.Equal(got, pemKey) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := OpenKey(key, "api", sealed); err == nil {
		t.Error("a key sealed for one name opened as another's")
	}
	if _, err := OpenKey(bytes.Repeat([]byte{8}, 32), "web", sealed); err == nil {
		t.Error("opened with another cluster key")
	}
	if _, err := SealKey(nil, "web", pemKey); err == nil {
		t.Error("sealed without a cluster key")
	}
}

func tlsConfig(cert string) *config.Cluster {
	c := testConfig("s1")
	c.Frontends[0].TLS = &config.TLS{Certificates: []string{cert}}
	return c
}

func TestCertificatesInTheReplicatedState(t *testing.T) {
	f := newFSM(nil)
	t0 := time.Unix(1700000000, 0).UTC()
	sealed, _ := SealKey(bytes.Repeat([]byte{1}, 32), "web", []byte("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"))
	cert := StoredCertificate{Chain: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", SealedKey: sealed, Time: t0}
	// A config naming a certificate the store lacks is refused.
	if err := applyErr(f, 1, ApplyConfig{Config: tlsConfig("web"), Time: t0}); !errors.Is(err, ErrUnknownCertificate) {
		t.Fatalf("config before its certificate: %v", err)
	}
	for _, r := range applyAll(t, f, 2, SetCertificate{Name: "web", Certificate: cert}, ApplyConfig{Config: tlsConfig("web"), Time: t0}) {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if v := f.current().Version; v != 1 {
		t.Fatalf("version %d after the config", v)
	}
	// Replacing the certificate does not bump the config version.
	cert.NotAfter = t0.Add(time.Hour)
	applyAll(t, f, 4, SetCertificate{Name: "web", Certificate: cert})
	if s := f.current(); s.Version != 1 || !s.Certificates["web"].NotAfter.Equal(cert.NotAfter) {
		t.Fatalf("after renewal: version %d, %+v", s.Version, s.Certificates["web"])
	}
	if err := applyErr(f, 5, DeleteCertificate{Name: "web", Time: t0}); !errors.Is(err, ErrCertificateInUse) {
		t.Fatalf("remove a certificate in use: %v", err)
	}
	if err := applyErr(f, 6, DeleteCertificate{Name: "nope", Time: t0}); !errors.Is(err, ErrUnknownCertificate) {
		t.Fatalf("remove an unknown certificate: %v", err)
	}
	applyAll(t, f, 7, ApplyConfig{Expected: 1, Config: testConfig("s1"), Time: t0}, DeleteCertificate{Name: "web", Time: t0})
	if _, ok := f.current().Certificates["web"]; ok {
		t.Fatal("the certificate is still there")
	}
	// File paths are not the store's.
	applyAll(t, f, 9, ApplyConfig{Expected: 2, Config: tlsConfig("/etc/ssl/web.pem"), Time: t0})
	if v := f.current().Version; v != 3 {
		t.Fatalf("version %d, want 3 (two more configs applied)", v)
	}
}

// applyErr applies one command and returns its business error.
func applyErr(f *fsm, index uint64, c Command) error {
	data, err := encodeCommand(c)
	if err != nil {
		return err
	}
	return f.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}).(applyResult).err
}

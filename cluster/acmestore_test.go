package cluster

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

func TestACMELockExpiresSoAnotherNodeTakesOver(t *testing.T) {
	f := newFSM(nil)
	t0 := time.Unix(1700000000, 0).UTC()
	lockA := ACMELock{Owner: "a", Token: "ta", Expires: t0.Add(10 * time.Second)}
	lockB := ACMELock{Owner: "b", Token: "tb", Expires: t0.Add(30 * time.Second)}
	steps := []struct {
		cmd     Command
		wantErr error // nil: accepted
	}{
		{AcquireACMELock{Name: "issue_cert_www", Lock: lockA, Now: t0}, nil},
		// b is refused while a's lock lasts, even at its last instant.
		{AcquireACMELock{Name: "issue_cert_www", Lock: lockB, Now: t0.Add(10 * time.Second)}, &ACMELockHeldError{}},
		// a refreshes with its token.
		{AcquireACMELock{Name: "issue_cert_www", Lock: ACMELock{Owner: "a", Token: "ta", Expires: t0.Add(20 * time.Second)}, Now: t0.Add(5 * time.Second)}, nil},
		{AcquireACMELock{Name: "issue_cert_www", Lock: lockB, Now: t0.Add(15 * time.Second)}, &ACMELockHeldError{}},
		// a died: once its lock expired, b takes it.
		{AcquireACMELock{Name: "issue_cert_www", Lock: lockB, Now: t0.Add(21 * time.Second)}, nil},
		// a comes back: its refresh and its release are refused, b keeps the lock.
		{AcquireACMELock{Name: "issue_cert_www", Lock: ACMELock{Owner: "a", Token: "ta", Expires: t0.Add(40 * time.Second)}, Now: t0.Add(22 * time.Second)}, &ACMELockHeldError{}},
		{ReleaseACMELock{Name: "issue_cert_www", Token: "ta"}, ErrACMELockNotHeld},
		{ReleaseACMELock{Name: "issue_cert_www", Token: "tb"}, nil},
		{ReleaseACMELock{Name: "issue_cert_www", Token: "tb"}, ErrACMELockNotHeld},
		{AcquireACMELock{Name: "", Lock: lockA, Now: t0}, ErrInvalidCommand},
	}
	for i, st := range steps {
		err := applyErr(f, uint64(i+1), st.cmd)
		var held *ACMELockHeldError
		switch {
		case st.wantErr == nil && err != nil:
			t.Fatalf("step %d %+v: %v", i, st.cmd, err)
		case st.wantErr == nil:
		case errors.As(st.wantErr, &held):
			if !errors.As(err, &held) {
				t.Fatalf("step %d %+v: %v, want held", i, st.cmd, err)
			}
		case !errors.Is(err, st.wantErr):
			t.Fatalf("step %d %+v: %v, want %v", i, st.cmd, err, st.wantErr)
		}
	}
	if locks := f.current().ACME.Locks; len(locks) != 0 {
		t.Errorf("locks left: %v", locks)
	}
}

func TestACMEValuesDeleteRemovesADirectory(t *testing.T) {
	f := newFSM(nil)
	t0 := time.Unix(1700000000, 0).UTC()
	for _, k := range []string{"certificates/ca/www/www.crt", "certificates/ca/www/www.key", "certificates/ca/www2/www2.crt", "acme/ca/users/a.json"} {
		if err := applyErr(f, 1, PutACMEValue{Key: k, Value: ACMEValue{Value: []byte(k), Modified: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	before := f.current()
	if err := applyErr(f, 2, DeleteACMEValue{Key: "certificates/ca/www"}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range f.current().ACME.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"acme/ca/users/a.json", "certificates/ca/www2/www2.crt"}; !slices.Equal(keys, want) {
		t.Errorf("keys after deleting the directory: %v, want %v", keys, want)
	}
	if len(before.ACME.Values) != 4 {
		t.Error("a delete modified the state before it")
	}
	if err := applyErr(f, 3, PutACMEValue{Key: ""}); !errors.Is(err, ErrInvalidCommand) {
		t.Errorf("empty key: %v", err)
	}
}

func TestACMEStoreSurvivesSnapshotRestore(t *testing.T) {
	t0 := time.Unix(1700000000, 0).UTC()
	log := append(commandLog(),
		PutACMEValue{Key: "certificates/ca/www/www.key", Value: ACMEValue{Value: []byte("sealed"), Sealed: true, Modified: t0}},
		AcquireACMELock{Name: "issue_cert_www", Lock: ACMELock{Owner: "a", Token: "t", Expires: t0.Add(time.Minute)}, Now: t0},
	)
	f1, f2 := newFSM(nil), newFSM(nil)
	applyAll(t, f1, 1, log...)
	applyAll(t, f2, 1, log...)
	b1 := snapshotBytes(t, f1)
	if !bytes.Equal(b1, snapshotBytes(t, f2)) {
		t.Fatal("the same log gave different snapshots")
	}
	f3 := newFSM(nil)
	if err := f3.Restore(io.NopCloser(bytes.NewReader(b1))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f1.current().ACME, f3.current().ACME); diff != "" {
		t.Fatalf("restored ACME store differs (-want +got):\n%s", diff)
	}
	if v := f3.current().ACME.Values["certificates/ca/www/www.key"]; !v.Sealed || string(v.Value) != "sealed" {
		t.Errorf("restored value %+v", v)
	}
}

func TestACMECertificatesAreStoredAndInUse(t *testing.T) {
	f := newFSM(nil)
	t0 := time.Unix(1700000000, 0).UTC()
	c := testConfig("s1")
	c.Frontends = append(c.Frontends, config.Frontend{Name: "https", Bind: []string{":443"}, DefaultBackend: "web", TLS: &config.TLS{}})
	c.ACME = &config.ACME{Email: "a@example.com", Names: []string{"www.example.com"}}
	name := config.ACMECertificateName("www.example.com")
	cert := StoredCertificate{Chain: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", SealedKey: []byte("sealed"), Time: t0}
	for _, r := range applyAll(t, f, 1, ApplyConfig{Config: c, Time: t0}, SetCertificate{Name: name, Certificate: cert}) {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if got := CertificateUsers(c, name); !slices.Equal(got, []string{"https"}) {
		t.Errorf("users of %s: %v, want [https]", name, got)
	}
	if err := applyErr(f, 3, DeleteCertificate{Name: name}); !errors.Is(err, ErrCertificateInUse) {
		t.Errorf("removing a certificate ACME serves: %v, want in use", err)
	}
	if err := applyErr(f, 4, SetCertificate{Name: "acme:not a name", Certificate: cert}); !errors.Is(err, ErrInvalidCommand) {
		t.Errorf("an acme: name that is not a DNS name: %v", err)
	}
}

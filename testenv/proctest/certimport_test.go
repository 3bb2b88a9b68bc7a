package proctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePEM writes a self-signed certificate for name, with its key in the
// same file (HAProxy's usual PEM), or in file.key when separate.
func writePEM(t *testing.T, file, name string, serial int64, separate bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	k := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	if separate {
		os.WriteFile(file+".key", k, 0o600)
	} else {
		c = append(c, k...)
	}
	if err := os.WriteFile(file, c, 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedSerial is the serial of the certificate addr serves for sni.
func servedSerial(addr, sni string) int64 {
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return -1
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// `tandem config apply -f haproxy.cfg` on one node stores the cfg's
// certificates (a crt directory and a crt-list) in the cluster: both LB
// nodes serve them by SNI, no node reads the PEM files, and `tandem cert
// list` shows them. A key that does not match is refused with file:line.
func TestHAProxyCertificatesStoredOnce(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	ck := base64.StdEncoding.EncodeToString(key)
	tc := startClusterArgs(t, []string{"--cluster-key", ck}, "lb1", "lb2")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "certs", "sites"), 0o755)
	writePEM(t, filepath.Join(dir, "certs", "sites", "a.example.com.pem"), "a.example.com", 11, false)
	writePEM(t, filepath.Join(dir, "certs", "sites", "b.example.com.pem"), "b.example.com", 12, true)
	writePEM(t, filepath.Join(dir, "certs", "api.pem"), "api.internal", 13, false)
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte("certs/api.pem api.example.com\n"), 0o644)
	s1, s2 := sites(t)
	front := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cfg := fmt.Sprintf(`global
  crt-base %s
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend https
  bind %s ssl crt certs/sites crt-list %s alpn h2,http/1.1
  default_backend web
backend web
  server s1 %s
  server s2 %s
`, dir, front, filepath.Join(dir, "list.txt"), s1, s2)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	out, err := exec.Command(Binary(t), "config", "apply", "-f", cfgPath, "--api-addr", tc.nodes[0].APIAddr).CombinedOutput()
	if err != nil {
		t.Fatalf("config apply: %v\n%s", err, out)
	}
	for _, name := range []string{"a.example.com", "b.example.com", "api"} {
		if !strings.Contains(string(out), "certificate "+name+" stored in the cluster") {
			t.Errorf("apply output lacks the stored %s:\n%s", name, out)
		}
	}
	tc.waitVersion(t, 2, tc.nodes...)
	// The PEM files are gone: the nodes serve the store's copies.
	os.RemoveAll(filepath.Join(dir, "certs"))
	for _, n := range tc.nodes {
		WaitFor(t, n.Name+" serves the three certificates", 10*time.Second, func() bool {
			st, err := n.Status()
			return err == nil && len(st.Certificates) == 3
		})
	}
	for sni, serial := range map[string]int64{"a.example.com": 11, "b.example.com": 12, "api.example.com": 13, "unknown.example.com": 11} {
		for range 4 { // the two nodes share the address (SO_REUSEPORT): either answers
			if got := servedSerial(front, sni); got != serial {
				t.Errorf("SNI %s: serial %d, want %d", sni, got, serial)
			}
		}
	}
	list, err := exec.Command(Binary(t), "cert", "list", "--api-addr", tc.nodes[1].APIAddr).CombinedOutput()
	if err != nil || !strings.Contains(string(list), "api.internal") || !strings.Contains(string(list), "https") {
		t.Errorf("cert list on lb2: %v\n%s", err, list)
	}
	// A key that does not match its certificate: file:line, nothing applied.
	os.MkdirAll(filepath.Join(dir, "certs", "sites"), 0o755)
	writePEM(t, filepath.Join(dir, "certs", "sites", "a.example.com.pem"), "a.example.com", 21, true)
	writePEM(t, filepath.Join(dir, "other.pem"), "a.example.com", 22, true)
	os.Rename(filepath.Join(dir, "other.pem.key"), filepath.Join(dir, "certs", "sites", "a.example.com.pem.key"))
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte("certs/sites/a.example.com.pem\n"), 0o644)
	out, err = exec.Command(Binary(t), "config", "apply", "-f", cfgPath, "--api-addr", tc.nodes[0].APIAddr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "haproxy.cfg:9: crt "+dir+"/certs/sites/a.example.com.pem: tls: private key does not match public key") {
		t.Errorf("mismatched key: %v\n%s", err, out)
	}
	if v := currentConfig(t, tc.nodes[1]).Version; v != 2 {
		t.Errorf("version %d after a refused apply, want 2", v)
	}
	if got := servedSerial(front, "a.example.com"); got != 11 {
		t.Errorf("after the refused apply a.example.com serves serial %d, want 11", got)
	}
}

package balancer

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/debian"
)

// Issue 12 item 5's SNI check as an operator makes it: 50 certificates on
// one frontend, and for each name `openssl s_client -servername` and curl
// (verifying against the CA and the name) get that name's certificate;
// an unknown name gets the default one, or no handshake with strict-sni.
func TestSNIFiftyCertificatesWithOpenSSLAndCurl(t *testing.T) {
	openssl := debian.Need(t, "openssl", "openssl")
	curl := debian.Need(t, "curl", "curl")
	ca := newTestCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	var certs, names []string
	for i := range 50 {
		name := fmt.Sprintf("site%02d.example.com", i)
		p, _ := ca.issue(t, dir, name+".pem", false, false, name)
		certs, names = append(certs, p), append(names, name)
	}
	s := newSite(t, "s", nil)
	c := cluster(srv("s", s.addr()))
	c.Frontends[0].TLS = &config.TLS{Certificates: certs}
	c.Frontends = append(c.Frontends, c.Frontends[0])
	c.Frontends[1].Name, c.Frontends[1].Bind = "strict", []string{"127.0.0.1:0"}
	c.Frontends[1].TLS = &config.TLS{Certificates: certs, StrictSNI: true}
	e := start(t, c)
	addr := e.addr("fe")
	_, port, _ := net.SplitHostPort(addr)

	// sClient is what openssl s_client verified and saw for name (the
	// chain always, the name when verifyName).
	sClient := func(addr, name string, verifyName bool) string {
		args := []string{"s_client", "-connect", addr, "-CAfile", caFile, "-verify_return_error"}
		if name != "" {
			args = append(args, "-servername", name)
		}
		if verifyName {
			args = append(args, "-verify_hostname", name)
		}
		out, _ := exec.Command(openssl, args...).CombinedOutput() // stdin empty: it closes at once
		return string(out)
	}
	check := func(name string) []string {
		var errs []string
		if out := sClient(addr, name, true); !strings.Contains(out, "Verify return code: 0 (ok)") || !strings.Contains(out, "subject=CN = "+name+"\n") {
			errs = append(errs, fmt.Sprintf("openssl s_client -servername %s: %q", name, lastLines(out, 6)))
		}
		out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile,
			"--resolve", name+":"+port+":127.0.0.1", "https://"+name+":"+port+"/").CombinedOutput()
		if err != nil || string(out) != "200" {
			errs = append(errs, fmt.Sprintf("curl https://%s:%s/: %q %v", name, port, out, err))
		}
		return errs
	}
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	work := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				if e := check(name); len(e) > 0 {
					mu.Lock()
					errs = append(errs, e...)
					mu.Unlock()
				}
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	// Unknown and absent names: the default (the first) certificate, whose
	// name then does not match; with strict-sni no handshake at all.
	for _, name := range []string{"unknown.example.com", ""} {
		out := sClient(addr, name, false)
		if !strings.Contains(out, "subject=CN = site00.example.com\n") {
			t.Errorf("openssl s_client, SNI %q: %q, want the default certificate site00", name, lastLines(out, 6))
		}
		if out := sClient(e.addr("strict"), name, false); strings.Contains(out, "subject=") || !strings.Contains(out, "alert") {
			t.Errorf("strict-sni, openssl s_client SNI %q: %q, want a refused handshake", name, lastLines(out, 6))
		}
	}
	if out := sClient(e.addr("strict"), "site42.example.com", true); !strings.Contains(out, "subject=CN = site42.example.com\n") {
		t.Errorf("strict-sni, a known name: %q", lastLines(out, 6))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

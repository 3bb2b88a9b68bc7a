package runtimeapi

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

var (
	aptMu   sync.Mutex
	updated bool
)

// need returns the path of bin, installing Debian's package pkg with
// apt-get when it is missing and the test runs as root. Otherwise the
// test is skipped, or fails under CI=true.
func need(t *testing.T, bin, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	miss := t.Skipf
	if os.Getenv("CI") == "true" {
		miss = t.Fatalf
	}
	if os.Geteuid() != 0 {
		miss("%s is not installed and the test is not root: run `sudo apt-get install -y %s`", bin, pkg)
		return ""
	}
	if err := aptInstall(pkg); err != nil {
		miss("%v", err)
		return ""
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		miss("%s installed but %s is not in PATH", pkg, bin)
	}
	return p
}

func aptInstall(pkg string) error {
	aptMu.Lock()
	defer aptMu.Unlock()
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := install()
	if err != nil && !updated {
		// A fresh machine has no package lists yet.
		if uout, uerr := exec.Command("apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return fmt.Errorf("apt-get update: %v\n%s", uerr, uout)
		}
		updated = true
		out, err = install()
	}
	if err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", pkg, err, out)
	}
	return nil
}

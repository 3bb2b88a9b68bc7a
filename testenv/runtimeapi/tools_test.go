package runtimeapi

import (
	"os"
	"os/exec"
	"testing"

	"github.com/tandem-lb/tandem/testenv/debian"
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

func aptInstall(pkg string) error { return debian.Install(pkg) }

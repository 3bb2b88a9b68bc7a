// Package debian installs the Debian packages tests need: the real peers
// (haproxy, redis-server, bird2, pebble, ...) that tests start on
// loopback or in namespaces. A test calls Need for the binary it runs; the
// package is installed when the binary is missing and the test runs as
// root, else the test is skipped, or fails under CI=true (where every
// test must run).
//
// Test binaries of several packages run at once under `go test ./...`:
// apt-get waits for dpkg's lock instead of failing on it.
package debian

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// Need returns the path of bin, installing package pkg when bin is not
// found (root only). Otherwise it skips t, or fails it under CI=true.
func Need(t testing.TB, pkg, bin string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	miss := func(format string, args ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI=true: this test must run)", args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		miss("%s is not installed and the test is not root: run `sudo apt-get install -y %s`", bin, pkg)
	}
	if err := Install(pkg); err != nil {
		miss("install %s: %v", pkg, err)
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		miss("%s not found after installing %s", bin, pkg)
	}
	return p
}

var mu sync.Mutex // one apt-get at a time in this process

// Install installs packages with apt-get (updating the package lists once
// if that fails), waiting up to ten minutes for dpkg's lock held by
// another test binary. Services Debian's scripts would start stay as the
// package leaves them; tests use their own ports and directories.
func Install(pkgs ...string) error {
	mu.Lock()
	defer mu.Unlock()
	run := func(args ...string) error {
		cmd := exec.Command("apt-get", append([]string{"-y", "-qq", "-o", "DPkg::Lock::Timeout=600"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", args[0], err, out)
		}
		return nil
	}
	install := append([]string{"install", "--no-install-recommends"}, pkgs...)
	if run(install...) == nil {
		return nil
	}
	if err := run("update"); err != nil {
		return err
	}
	return run(install...)
}

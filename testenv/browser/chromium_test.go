package browser

import (
	"os"
	"os/exec"
	"testing"

	"github.com/tandem-lb/tandem/testenv/debian"
)

// chromium returns the path of a chromium binary, installing Debian's
// package when it is missing and the test runs as root. Without one the
// test is skipped, or fails under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	if p := lookChromium(); p != "" {
		return p
	}
	miss := t.Skipf
	if os.Getenv("CI") == "true" {
		miss = t.Fatalf
	}
	if os.Geteuid() != 0 {
		miss("chromium is not installed and the test is not root: run `sudo apt-get install -y chromium` to run the dashboard browser test")
		return ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		miss("chromium is not installed and there is no apt-get to install it")
		return ""
	}
	t.Log("installing chromium with apt-get (once)")
	if err := debian.Install("chromium"); err != nil {
		miss("install chromium: %v", err)
		return ""
	}
	if p := lookChromium(); p != "" {
		return p
	}
	miss("chromium installed but not found in PATH")
	return ""
}

func lookChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

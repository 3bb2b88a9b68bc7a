package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/testenv/debian"
)

// TestDebianPackage builds the .deb once and runs every check on that one
// build: lintian, systemd-analyze verify, and (root) install, run, purge.
func TestDebianPackage(t *testing.T) {
	deb := buildDeb(t)
	t.Run("Contents", func(t *testing.T) { checkContents(t, deb) })
	t.Run("Lintian", func(t *testing.T) { checkLintian(t, deb) })
	t.Run("UnitVerifies", func(t *testing.T) { checkUnit(t, deb) })
	t.Run("InstallRunPurge", func(t *testing.T) { installRunPurge(t, deb) })
}

// need skips the test with why for a normal user, and fails it under
// CI=true, where everything must run.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: this must run)", why)
	}
	t.Skip(why)
}

// tool finds a command, installing its Debian package with apt-get when
// root; otherwise need decides.
func tool(t *testing.T, cmd, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(cmd); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		if err := aptInstall(pkg); err != nil {
			t.Fatalf("install %s for %s: %v", pkg, cmd, err)
		}
		if p, err := exec.LookPath(cmd); err == nil {
			return p
		}
	}
	need(t, false, cmd+" is missing: apt-get install "+pkg+" (or run the test as root, which installs it)")
	return ""
}

func aptInstall(pkg string) error { return debian.Install(pkg) }

type cmdError struct {
	what string
	err  error
	out  []byte
}

func (e *cmdError) Error() string { return e.what + ": " + e.err.Error() + ": " + string(e.out) }

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// buildDeb runs `make deb`'s script into a temp dir, with a fixed version
// so that the test does not depend on the checkout's tags.
func buildDeb(t *testing.T) string {
	t.Helper()
	tool(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	cmd := exec.Command("packaging/build-deb.sh")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "VERSION=0.1.0~test1", "OUT="+out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build the .deb: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b[bytes.LastIndexByte(bytes.TrimSpace(b), '\n')+1:]))
	arch := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	if want := filepath.Join(out, "tandem_0.1.0~test1_"+arch+".deb"); deb != want {
		t.Fatalf("build-deb.sh made %q, want %q", deb, want)
	}
	return deb
}

// checkContents looks inside the package without installing it.
func checkContents(t *testing.T, deb string) {
	files := run(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{
		"./usr/bin/tandem", "./lib/systemd/system/tandem.service", "./etc/tandem/tandem.yaml",
		"./usr/share/bash-completion/completions/tandem", "./usr/share/zsh/vendor-completions/_tandem",
		"./usr/share/man/man1/tandem.1.gz", "./usr/share/man/man1/tandem-agent.1.gz",
		"./usr/share/doc/tandem/copyright", "./usr/share/doc/tandem/changelog.gz",
	} {
		if !strings.Contains(files, " "+want+"\n") {
			t.Errorf("the package has no %s; it has:\n%s", want, files)
		}
	}
	if strings.Contains(files, "/man/man1/tandem-man.1.gz") {
		t.Error("the hidden man generator got a man page of its own")
	}
	if got := run(t, "dpkg-deb", "--ctrl-tarfile", deb); got == "" {
		t.Fatal("no control archive")
	}
	dir := t.TempDir()
	run(t, "dpkg-deb", "--control", deb, filepath.Join(dir, "DEBIAN"))
	if b, _ := os.ReadFile(filepath.Join(dir, "DEBIAN", "conffiles")); string(b) != "/etc/tandem/tandem.yaml\n" {
		t.Errorf("conffiles = %q, want only /etc/tandem/tandem.yaml", b)
	}
	run(t, "dpkg-deb", "--extract", deb, dir)
	f, err := elf.Open(filepath.Join(dir, "usr/bin/tandem"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/usr/bin/tandem has a program interpreter: it is not the static binary")
		}
	}
	// The binary links OpenSSL's libcrypto (RSA signatures) where the host
	// can build it, as CI's does; the package then names what it embeds.
	tags := run(t, "go", "version", "-m", filepath.Join(dir, "usr/bin/tandem"))
	withOpenSSL := strings.Contains(tags, "-tags=openssl")
	if !withOpenSSL && os.Getenv("CI") == "true" {
		t.Errorf("/usr/bin/tandem is built without OpenSSL (CI=true: packaging/build-binary.sh must link it):\n%s", tags)
	}
	builtUsing := run(t, "dpkg-deb", "-f", deb, "Built-Using")
	if withOpenSSL != (strings.Contains(builtUsing, "openssl (= ") && strings.Contains(builtUsing, "glibc (= ")) {
		t.Errorf("OpenSSL linked in: %v, but Built-Using is %q", withOpenSSL, builtUsing)
	}
	// The completion scripts are cobra's: they complete subcommands.
	bash, _ := os.ReadFile(filepath.Join(dir, "usr/share/bash-completion/completions/tandem"))
	zsh, _ := os.ReadFile(filepath.Join(dir, "usr/share/zsh/vendor-completions/_tandem"))
	if !bytes.Contains(bash, []byte("__start_tandem")) || !bytes.HasPrefix(zsh, []byte("#compdef tandem")) {
		t.Errorf("completion scripts are not cobra's for tandem (bash %d bytes, zsh %d bytes)", len(bash), len(zsh))
	}
	// The man page of the agent is its --help, rendered.
	man := run(t, "sh", "-c", "zcat "+filepath.Join(dir, "usr/share/man/man1/tandem-agent.1.gz"))
	for _, want := range []string{".TH \"TANDEM\" \"1\"", "tandem 0.1.0~test1", "--vip-interface", "--cluster-config"} {
		if !strings.Contains(man, want) {
			t.Errorf("tandem-agent.1 lacks %q", want)
		}
	}
}

// checkLintian runs Debian's package checker: no error may remain, and
// every warning is either fixed or overridden with a reason.
func checkLintian(t *testing.T, deb string) {
	lintian := tool(t, "lintian", "lintian")
	cmd := exec.Command(lintian, "--tag-display-limit", "0", "--display-info", "--show-overrides", deb)
	out, err := cmd.CombinedOutput()
	t.Logf("lintian:\n%s", out)
	var errs, overridden []string
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: "):
			errs = append(errs, line)
		case strings.HasPrefix(line, "O: "):
			overridden = append(overridden, line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("lintian reports errors or warnings that are not overridden:\n%s", strings.Join(errs, "\n"))
	}
	// With --show-overrides an overridden error still sets the exit status.
	if err != nil && len(errs) == 0 && len(overridden) == 0 {
		t.Errorf("lintian failed: %v", err)
	}
}

// checkUnit runs systemd-analyze verify on the packaged unit. Verify
// checks that ExecStart's binary exists, so before installing, the copy it
// checks runs the extracted binary; InstallRunPurge verifies the installed
// unit as it is.
func checkUnit(t *testing.T, deb string) {
	dir := t.TempDir()
	run(t, "dpkg-deb", "--extract", deb, dir)
	b, err := os.ReadFile(filepath.Join(dir, "lib/systemd/system/tandem.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "tandem.service")
	b = bytes.ReplaceAll(b, []byte("ExecStart=/usr/bin/tandem "), []byte("ExecStart="+filepath.Join(dir, "usr/bin/tandem")+" "))
	if err := os.WriteFile(unit, b, 0o644); err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, unit)
}

func verifyUnit(t *testing.T, unit string) {
	t.Helper()
	analyze := tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
	// The exposure score, for the record (0 is best, 10 unsandboxed).
	if out, err := exec.Command(analyze, "security", "--offline=true", unit).CombinedOutput(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("systemd-analyze security: %s", lines[len(lines)-1])
	}
}

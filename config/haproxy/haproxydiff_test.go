package haproxy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// haproxyBinary finds Debian's haproxy for the tests that compare the
// importer with it, installing it as root if it is missing (as make bench
// does). Without it the tests skip, and fail under CI=true.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("haproxy"); err == nil {
		return path
	}
	if os.Geteuid() == 0 {
		cmd := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("apt-get install haproxy: %v\n%s", err, out)
		}
		if path, err := exec.LookPath("haproxy"); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("haproxy is not installed and could not be installed: apt-get install haproxy")
	}
	t.Skip("haproxy is not installed (apt-get install haproxy): skipping the comparison with HAProxy")
	return ""
}

// haproxyNotices runs "haproxy -c" on cfg with env and returns the text of
// each .notice by line.
func haproxyNotices(t *testing.T, cfg string, env []string) map[int]string {
	t.Helper()
	bin := haproxyBinary(t)
	file := filepath.Join(t.TempDir(), "t.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", file)
	cmd.Env = env
	out, _ := cmd.CombinedOutput() // a global-only cfg is "valid" or warns; notices are what counts
	notices := map[int]string{}
	re := regexp.MustCompile(`\[NOTICE\].*parsing \[[^:]*:(\d+)\]: '(.*)'\.$`)
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			notices[n] = m[2]
		}
	}
	return notices
}

// TestConditionsAgainstHAProxy evaluates every condition of condCases with
// Debian's HAProxy 2.6 and with the importer: the same branches are taken.
func TestConditionsAgainstHAProxy(t *testing.T) {
	var b strings.Builder
	b.WriteString("global\n")
	for i, tc := range condCases {
		fmt.Fprintf(&b, ".if %s\n  .notice \"%d yes\"\n.else\n  .notice \"%d no\"\n.endif\n", tc.cond, i, i)
	}
	env := []string{"A=1", "B=2", "EMPTY=", "WITH_SSL=yes"}
	notices := haproxyNotices(t, b.String(), env)
	_, warns, errs := translateCfg(b.String(), Options{Env: condEnv})
	if len(errs) > 0 {
		t.Fatalf("importer: %v", errs)
	}
	ours := map[int]string{}
	for _, w := range warns {
		ours[w.Line] = strings.TrimPrefix(w.Msg, "notice: ")
	}
	if len(notices) != len(condCases) {
		t.Fatalf("haproxy printed %d notices for %d conditions: %v", len(notices), len(condCases), notices)
	}
	for num, msg := range notices {
		if ours[num] != msg {
			t.Errorf("line %d: haproxy %q, importer %q", num, msg, ours[num])
		}
	}
}

// TestExpansionAgainstHAProxy expands the same words with Debian's HAProxy
// 2.6 and the importer.
func TestExpansionAgainstHAProxy(t *testing.T) {
	words := []string{`"${HOME}/x"`, `"$HOME/x"`, `"$A_1.y"`, `"${NOPE}"`, `"${NOPE-dflt}"`, `"${EMPTY-dflt}"`,
		`"${NOPE-a b}"`, `"\${HOME} \$HOME"`, `"${HOME}'q'"`, `'${HOME}'`, `"${.LINE}|${.SECTION}"`,
		`"a\"b"`, `"tab\there"`, `x"y z"w`, `"${LIST[*]}"`}
	var b strings.Builder
	b.WriteString("global\n")
	for _, w := range words {
		fmt.Fprintf(&b, "  .notice %s\n", w)
	}
	env := []string{"HOME=/root", "EMPTY=", "LIST=a", "PORT=8080", "A_1=x"}
	notices := haproxyNotices(t, b.String(), env)
	_, warns, errs := translateCfg(b.String(), Options{Env: func(n string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == n {
				return v, true
			}
		}
		return "", false
	}})
	if len(errs) > 0 {
		t.Fatalf("importer: %v", errs)
	}
	ours := map[int]string{}
	for _, w := range warns {
		if strings.HasPrefix(w.Msg, "notice: ") {
			ours[w.Line] = strings.TrimPrefix(w.Msg, "notice: ")
		}
	}
	if len(notices) != len(words) {
		t.Fatalf("haproxy printed %d notices for %d words: %v", len(notices), len(words), notices)
	}
	for num, msg := range notices {
		if ours[num] != msg {
			t.Errorf("line %d (%s): haproxy %q, importer %q", num, words[num-2], msg, ours[num])
		}
	}
}

// TestCorpusIsValidHAProxy checks that Debian's HAProxy 2.6 takes every
// corpus file ("haproxy -c"), with the files it names under the corpus
// root, but those that say HAProxy refuses them: the corpus is written
// for the HAProxy tandem replaces, not for the importer.
func TestCorpusIsValidHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	root, err := filepath.Abs(corpusRoot)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/corpus/*.cfg")
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/etc/haproxy/", root+"/etc/haproxy/")
		text = strings.ReplaceAll(text, "crt-base /etc/haproxy/certs", "crt-base "+root+"/etc/haproxy/certs")
		var env []string
		for l := range strings.SplitSeq(text, "\n") {
			if v, ok := strings.CutPrefix(l, "# env: "); ok {
				env = strings.Fields(v)
			}
		}
		cfg := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", "-f", cfg)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		refused := strings.Contains(text, "HAProxy 2.6 refuses this file")
		if (err != nil) != refused {
			t.Errorf("%s: haproxy -c: %v (file says HAProxy refuses it: %v)\n%s", f, err, refused, out)
		}
	}
}

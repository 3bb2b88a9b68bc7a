package packaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// The paths the package owns or makes; none may exist before the test (it
// would not be the machine as it was) and none after the purge.
var packagePaths = []string{"/usr/bin/tandem", "/lib/systemd/system/tandem.service", "/etc/tandem", "/var/lib/tandem"}

// installRunPurge installs the package with dpkg, checks what it put where,
// runs the installed agent as the tandem user, and purges it.
func installRunPurge(t *testing.T, deb string) {
	need(t, os.Geteuid() == 0, "installing a .deb needs root: run `sudo go test ./packaging/` to install, run and purge it")
	tool(t, "ip", "iproute2")
	tool(t, "setpriv", "util-linux")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "tandem").Output(); err == nil && string(out) != "not-installed" {
		need(t, false, "a tandem package is on this machine ("+string(out)+"): the test would replace it")
	}
	for _, p := range packagePaths {
		if _, err := os.Lstat(p); err == nil {
			need(t, false, p+" exists: the test installs over nothing")
		}
	}
	_, err := user.Lookup("tandem")
	userExisted := err == nil

	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", "tandem").CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg --purge tandem: %v\n%s", err, out)
		}
		// The purge keeps the account (postrm says why); this machine gets
		// back what it had.
		if !userExisted {
			_ = exec.Command("userdel", "tandem").Run()
			_ = exec.Command("groupdel", "tandem").Run()
		}
	})
	run(t, "dpkg", "-i", deb)

	t.Run("Installed", checkInstalled)
	t.Run("InstalledUnitVerifies", func(t *testing.T) { verifyUnit(t, "/lib/systemd/system/tandem.service") })
	t.Run("AgentRunsAsTandem", runInstalledAgent)

	run(t, "dpkg", "--purge", "tandem")
	for _, p := range packagePaths {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after dpkg --purge, %s is still there", p)
		}
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "tandem").Output(); len(out) > 0 && string(out) != "not-installed" {
		t.Errorf("after dpkg --purge, dpkg says tandem is %q", out)
	}
	if _, err := user.Lookup("tandem"); err != nil {
		t.Errorf("purge removed the tandem account; Debian keeps system accounts (uid reuse): %v", err)
	}
}

// checkInstalled: the system account, the files and their modes.
func checkInstalled(t *testing.T) {
	u, err := user.Lookup("tandem")
	if err != nil {
		t.Fatalf("postinst made no tandem user: %v", err)
	}
	g, err := user.LookupGroup("tandem")
	if err != nil {
		t.Fatalf("postinst made no tandem group: %v", err)
	}
	if uid, _ := strconv.Atoi(u.Uid); uid == 0 || uid >= 1000 || u.Gid != g.Gid || u.HomeDir != "/var/lib/tandem" {
		t.Errorf("tandem user = uid %s gid %s home %s, want a system uid (1-999), group tandem (%s), home /var/lib/tandem", u.Uid, u.Gid, u.HomeDir, g.Gid)
	}
	if pw := run(t, "getent", "passwd", "tandem"); !strings.HasSuffix(strings.TrimSpace(pw), ":/usr/sbin/nologin") {
		t.Errorf("tandem's shell: %s, want /usr/sbin/nologin", pw)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	for _, c := range []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"/usr/bin/tandem", 0o755, 0, 0},
		{"/lib/systemd/system/tandem.service", 0o644, 0, 0},
		{"/etc/tandem/tandem.yaml", 0o640, 0, gid}, // may hold cluster_key
		{"/var/lib/tandem", fs.ModeDir | 0o750, uid, gid},
		{"/usr/share/man/man1/tandem-agent.1.gz", 0o644, 0, 0},
		{"/usr/share/bash-completion/completions/tandem", 0o644, 0, 0},
		{"/usr/share/zsh/vendor-completions/_tandem", 0o644, 0, 0},
		{"/usr/share/doc/tandem/copyright", 0o644, 0, 0},
		{"/usr/share/doc/tandem/changelog.gz", 0o644, 0, 0},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Errorf("after dpkg -i: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != c.mode || int(st.Uid) != c.uid || int(st.Gid) != c.gid {
			t.Errorf("%s: mode %v owner %d:%d, want %v %d:%d", c.path, fi.Mode(), st.Uid, st.Gid, c.mode, c.uid, c.gid)
		}
	}
	if cf := run(t, "dpkg-query", "-W", "-f=${Conffiles}", "tandem"); !strings.Contains(cf, "/etc/tandem/tandem.yaml ") {
		t.Errorf("dpkg does not hold /etc/tandem/tandem.yaml as a conffile: %q", cf)
	}
	if out := run(t, "/usr/bin/tandem", "--help"); !strings.Contains(out, "agent") {
		t.Errorf("the installed tandem --help:\n%s", out)
	}
}

// runInstalledAgent runs /usr/bin/tandem with the packaged settings file,
// as the tandem user with the unit's capabilities and nothing else, in a
// network namespace where it holds a VIP. It checks readiness, the API,
// the VIP (netlink and ARP without root), SIGHUP and SIGTERM.
func runInstalledAgent(t *testing.T) {
	n := newNet(t)
	// Not t.TempDir: its parent is 0700, and the tandem user reads the
	// config and writes to the notify socket in here.
	dir, err := os.MkdirTemp("", "tandem-deb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	site := n.start(t, "site", dir, "/usr/bin/tandem", "testsite", "--name", "site", "--listen", "127.0.0.1:8001", "--root", filepath.Join(dir, "site"))
	site.waitLine(t, "test site listening", 0, 30*time.Second)
	cfg := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfg, []byte(clusterYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := listenNotify(t, filepath.Join(dir, "notify.sock"))

	// What the unit does (User=, AmbientCapabilities=, CapabilityBoundingSet=,
	// NoNewPrivileges=), done by setpriv. No --config: the agent reads the
	// packaged /etc/tandem/tandem.yaml.
	caps := "-all,+net_admin,+net_raw,+net_bind_service"
	agent := n.start(t, "agent", dir, "setpriv", "--reuid=tandem", "--regid=tandem", "--init-groups",
		"--inh-caps="+caps, "--ambient-caps="+caps, "--bounding-set="+caps, "--no-new-privs",
		"/usr/bin/tandem", "agent", "--node", "pkgtest", "--bind", "127.0.0.1",
		"--cluster-config", cfg, "--vip-interface", "eth0", "--vip-priority", "vip1=150")

	sock.expect(t, "READY=1", agent, 60*time.Second)
	// READY means the frontend listens (port 80: CAP_NET_BIND_SERVICE) and
	// the API answers; nothing is retried here.
	c, err := n.dial(lbNS, "127.0.0.1:80")
	if err != nil {
		t.Fatalf("READY=1 came before the frontend listened: %v", err)
	}
	c.Close()
	// The first node of a new cluster serves its initial config before it
	// is committed, so the version may still be 0 here.
	st := status(t, n)
	if st.Node != "pkgtest" || len(st.Frontends) != 1 || !st.Frontends[0].Ready {
		t.Errorf("status at READY: node %q, frontends %+v", st.Node, st.Frontends)
	}
	checkCredentials(t, agent.pid())

	// The VIP: the address over netlink (CAP_NET_ADMIN), announced by
	// gratuitous ARP from a packet socket (CAP_NET_RAW): the client learns
	// its MAC before sending it anything. Then a request through it.
	waitFor(t, "the VIP on eth0", 20*time.Second, func() bool { return n.hasAddr(lbNS, "eth0", vipIP) })
	waitFor(t, "the client to learn the VIP's MAC from gratuitous ARP", 10*time.Second, func() bool {
		return n.neighMAC(clientNS, vipIP) == lbMAC
	})
	if body := n.get(t, clientNS, "http://"+vipIP+"/"); !strings.Contains(body, "site") {
		t.Errorf("GET through the VIP: %q, want the test site's page", body)
	}

	checkReload(t, n, agent, sock)

	if err := agent.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, "STOPPING=1", agent, 10*time.Second)
	if err := agent.wait(30 * time.Second); err != nil {
		t.Errorf("the agent did not exit cleanly on SIGTERM: %v", err)
	}
	if n.hasAddr(lbNS, "eth0", vipIP) {
		t.Error("the VIP stayed on eth0 after a clean stop")
	}
}

// checkCredentials reads what the kernel says the agent runs with.
func checkCredentials(t *testing.T, pid int) {
	t.Helper()
	u, _ := user.Lookup("tandem")
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	// CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13.
	const want = "0000000000003400"
	fields := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if uids := strings.Fields(fields["Uid"]); len(uids) != 4 || uids[0] != u.Uid || uids[1] != u.Uid {
		t.Errorf("agent runs as uid %q, want tandem (%s)", fields["Uid"], u.Uid)
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb"} {
		if fields[k] != want {
			t.Errorf("agent %s = %s, want %s (NET_BIND_SERVICE, NET_ADMIN, NET_RAW only)", k, fields[k], want)
		}
	}
	if fields["NoNewPrivs"] != "1" {
		t.Errorf("agent NoNewPrivs = %q, want 1", fields["NoNewPrivs"])
	}
}

// checkReload: SIGHUP re-reads /etc/tandem/tandem.yaml; the log level
// changes live, a restart-only change is named, bad settings are refused
// and the agent keeps serving.
func checkReload(t *testing.T, n *netEnv, agent *proc, sock *notifySock) {
	t.Helper()
	// "up" means a check ran at level info: its Debug call comes before
	// its result is recorded. A later Debug call either comes before the
	// level changes (and writes nothing) or after the reload's line.
	waitFor(t, "config version 1 committed and server local up", 20*time.Second, func() bool {
		st := status(t, n)
		return st.Version == 1 && len(st.Servers) == 1 && st.Servers[0].Own == config.HealthUp
	})
	appendSettings(t, "log_level: debug\ndrain_timeout: 3s\n")
	mark := agent.lines()
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, "RELOADING=1", agent, 10*time.Second)
	sock.expect(t, "READY=1", agent, 10*time.Second)
	reloaded := agent.waitLine(t, `msg="node settings reloaded" log_level=DEBUG`, mark, 10*time.Second)
	for _, l := range agent.linesBetween(0, reloaded) {
		if strings.Contains(l, "level=DEBUG") {
			t.Errorf("a DEBUG line before the reload, at log_level info: %s", l)
		}
	}
	warn := agent.waitLine(t, "apply only after a restart", mark, time.Second)
	if l := agent.linesBetween(warn, warn+1)[0]; !strings.Contains(l, "settings=drain_timeout") || strings.Contains(l, "log_level") {
		t.Errorf("the restart warning names the wrong settings: %s", l)
	}
	agent.waitLine(t, "level=DEBUG msg=check", reloaded, 10*time.Second)

	// A broken file: refused, the agent keeps its settings and serves.
	appendSettings(t, "log_level: [\n")
	mark = agent.lines()
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	agent.waitLine(t, "reload node settings: keeping the running ones", mark, 10*time.Second)
	sock.expect(t, "READY=1", agent, 10*time.Second)
	if st := status(t, n); st.Node != "pkgtest" {
		t.Errorf("after a refused reload the API says node %q", st.Node)
	}
}

func appendSettings(t *testing.T, s string) {
	t.Helper()
	f, err := os.OpenFile("/etc/tandem/tandem.yaml", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// status asks the node through the installed CLI, as an operator would.
func status(t *testing.T, n *netEnv) api.Status {
	t.Helper()
	out := n.exec(t, lbNS, "/usr/bin/tandem", "status", "--json")
	var st api.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("tandem status --json: %v\n%s", err, out)
	}
	return st
}

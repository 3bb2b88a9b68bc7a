package services

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// dbCluster is one TCP frontend in front of backend "db" with servers
// checked by hc at inter 200ms, rise 2, fall 2.
func dbCluster(t *testing.T, hc *config.HealthCheck, servers ...config.Server) *config.Cluster {
	timing := config.CheckTiming{Inter: config.Duration(200 * time.Millisecond), Rise: 2, Fall: 2}
	for i := range servers {
		servers[i].Check, servers[i].CheckTiming = true, timing
	}
	return &config.Cluster{
		Frontends: []config.Frontend{{Name: "db", Mode: config.ModeTCP, Bind: []string{Addr(FreePort(t))}, DefaultBackend: "db"}},
		Backends: []config.Backend{{Name: "db", Mode: config.ModeTCP, HealthCheck: hc, Servers: servers,
			Timeouts: config.Timeouts{Check: config.Duration(time.Second)}}},
	}
}

// stopStartComesBack stops a checked server, waits until tandem sees it
// down, starts it again and checks that it comes up after rise good checks.
func stopStartComesBack(t *testing.T, tn *Tandem, name string, stop func(), start func()) {
	t.Helper()
	stop()
	took := WaitFor(t, name+" down", 10*time.Second, func() bool { return tn.Server(t, "db", name).Own == config.HealthDown })
	s := tn.Server(t, "db", name)
	t.Logf("%s stopped: down after %v: %s", name, took.Round(time.Millisecond), s.LastCheck)
	if !strings.HasPrefix(s.LastCheck, "L4CON") {
		t.Errorf("a stopped server's check: %q, want L4CON", s.LastCheck)
	}
	start()
	took = WaitFor(t, name+" up again", 20*time.Second, func() bool { return tn.Server(t, "db", name).Own == config.HealthUp })
	t.Logf("%s started: up after %v: %s", name, took.Round(time.Millisecond), tn.Server(t, "db", name).LastCheck)
	if !strings.Contains(tn.Log.String(), "2 consecutive successes") {
		t.Errorf("the log does not show the rise:\n%s", tn.Log.String())
	}
}

// postgresBin finds Debian's PostgreSQL programs, installing the package.
func postgresBin(t *testing.T) string {
	t.Helper()
	find := func() string {
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
		if len(m) == 0 {
			return ""
		}
		return filepath.Dir(m[len(m)-1])
	}
	if d := find(); d != "" {
		return d
	}
	Need(t, "postgresql", "pg_ctlcluster")
	if d := find(); d != "" {
		return d
	}
	t.Fatal("postgresql installed but no /usr/lib/postgresql/*/bin/postgres")
	return ""
}

// ownedDir is a temporary directory owned by user (PostgreSQL will not run
// as root), removed at the end of the test.
func ownedDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tandem-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatalf("user %s: %v", name, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPgSQLCheck(t *testing.T) {
	bin := postgresBin(t)
	dir := ownedDir(t, "postgres")
	data := filepath.Join(dir, "data")
	if out, err := Runuser("postgres", filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// A user pg_hba.conf rejects: PostgreSQL answers the StartupMessage
	// with an ErrorResponse, which pgsql-check reports. (A role that does
	// not exist, under trust, gets AuthenticationOk first: HAProxy's check
	// passes it, and so does tandem's.)
	hba := filepath.Join(data, "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hba, append([]byte("host all nobody 127.0.0.1/32 reject\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	var pg *Proc
	start := func() {
		pg = Start(t, "postgres", Runuser("postgres", filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"))
		pg.WaitPort(t, Addr(port), 20*time.Second)
	}
	start()
	good := config.Server{Name: "pg", Address: Addr(port)}
	c := dbCluster(t, &config.HealthCheck{Type: config.CheckPgSQL, CheckRules: config.CheckRules{User: "postgres"}}, good)
	tn := StartTandem(t, c)
	WaitFor(t, "pg up", 10*time.Second, func() bool { return tn.Server(t, "db", "pg").Own == config.HealthUp })
	if s := tn.Server(t, "db", "pg"); s.LastCheck != "L7OK: PostgreSQL server is ok" {
		t.Errorf("pgsql-check result %q", s.LastCheck)
	}
	stopStartComesBack(t, tn, "pg", func() { pg.Stop() }, start)

	// A user PostgreSQL does not know: the check says so.
	bad := dbCluster(t, &config.HealthCheck{Type: config.CheckPgSQL, CheckRules: config.CheckRules{User: "nobody"}}, config.Server{Name: "pg", Address: Addr(port)})
	tb := StartTandem(t, bad)
	WaitFor(t, "pg down with a bad user", 10*time.Second, func() bool { return tb.Server(t, "db", "pg").Own == config.HealthDown })
	t.Logf("bad credentials: %s", tb.Server(t, "db", "pg").LastCheck)
	if s := tb.Server(t, "db", "pg"); s.LastCheck != `L7RSP: pgsql-check step 3 expect no ErrorResponse: FATAL: pg_hba.conf rejects connection for host "127.0.0.1", user "nobody", database "nobody", no encryption` {
		t.Errorf("bad credentials: %q", s.LastCheck)
	}
}

func TestMySQLCheckAgainstMariaDB(t *testing.T) {
	mariadbd := Need(t, "mariadb-server", "mariadbd")
	install := Need(t, "mariadb-server", "mariadb-install-db")
	client := Need(t, "mariadb-client", "mariadb")
	dir := ownedDir(t, "mysql")
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "mysql.sock")
	if out, err := exec.Command(install, "--no-defaults", "--datadir="+data, "--user=mysql", "--auth-root-authentication-method=normal",
		"--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := FreePort(t)
	var db *Proc
	start := func() {
		db = Start(t, "mariadbd", exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--port="+strconv.Itoa(port),
			"--bind-address=127.0.0.1", "--socket="+sock, "--user=mysql", "--pid-file="+filepath.Join(dir, "pid"),
			"--skip-log-bin", "--innodb-buffer-pool-size=16M", "--skip-name-resolve"))
		db.WaitPort(t, Addr(port), 30*time.Second)
	}
	start()
	sql := "CREATE USER 'haproxy_check'@'%'; CREATE USER 'withpw'@'%' IDENTIFIED BY 'secret'; FLUSH PRIVILEGES;"
	if out, err := exec.Command(client, "--no-defaults", "-uroot", "--socket="+sock, "-e", sql).CombinedOutput(); err != nil {
		t.Fatalf("create users: %v\n%s", err, out)
	}
	c := dbCluster(t, &config.HealthCheck{Type: config.CheckMySQL, CheckRules: config.CheckRules{User: "haproxy_check"}},
		config.Server{Name: "maria", Address: Addr(port)})
	tn := StartTandem(t, c)
	WaitFor(t, "maria up", 10*time.Second, func() bool { return tn.Server(t, "db", "maria").Own == config.HealthUp })
	if s := tn.Server(t, "db", "maria"); !strings.HasPrefix(s.LastCheck, "L7OK: ") || !strings.Contains(s.LastCheck, "MariaDB") {
		t.Errorf("mysql-check result %q, want L7OK and the server's version", s.LastCheck)
	}
	stopStartComesBack(t, tn, "maria", func() { db.Stop() }, start)

	bad := dbCluster(t, &config.HealthCheck{Type: config.CheckMySQL, CheckRules: config.CheckRules{User: "withpw"}},
		config.Server{Name: "maria", Address: Addr(port)})
	tb := StartTandem(t, bad)
	WaitFor(t, "maria down with a user that needs a password", 10*time.Second, func() bool { return tb.Server(t, "db", "maria").Own == config.HealthDown })
	t.Logf("bad credentials: %s", tb.Server(t, "db", "maria").LastCheck)
	if s := tb.Server(t, "db", "maria"); !strings.HasPrefix(s.LastCheck, "L7STS 1045: mysql-check step 4 expect login OK: Access denied for user 'withpw'") {
		t.Errorf("bad credentials: %q", s.LastCheck)
	}
}

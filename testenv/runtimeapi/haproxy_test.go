package runtimeapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/testenv"
	"github.com/tandem-lb/tandem/testenv/haproxydiff"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// twins is Debian's HAProxy 2.6 and one tandem agent with the same
// frontend, backend and servers, each with an admin and a user socket.
type twins struct {
	hAdmin, hUser  string // HAProxy's sockets
	tAdmin, tUser  string // tandem's
	hFront, tFront string
	node           *proctest.Node
}

func startTwins(t *testing.T) *twins {
	t.Helper()
	bin := haproxydiff.NeedHAProxy(t)
	var sites []string
	for _, name := range []string{"server1", "server2"} {
		s, err := testenv.NewSite(testenv.SiteConfig{Name: name, Listen: "127.0.0.1:0", Root: filepath.Join(t.TempDir(), name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-s.Ready()
		sites = append(sites, s.Addr())
	}
	dir, err := os.MkdirTemp("", "rtdiff-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w := &twins{
		hAdmin: filepath.Join(dir, "h-admin.sock"), hUser: filepath.Join(dir, "h-user.sock"),
		tAdmin: filepath.Join(dir, "lb1-admin.sock"), tUser: filepath.Join(dir, "lb1-user.sock"),
		hFront: fmt.Sprintf("127.0.0.1:%d", proctest.FreePort(t)), tFront: fmt.Sprintf("127.0.0.1:%d", proctest.FreePort(t)),
	}
	// The article's setup, as haproxy.cfg and as tandem's YAML.
	hcfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats socket %s mode 600 level user
defaults
    mode http
    timeout connect 5000ms
    timeout client 50000ms
    timeout server 50000ms
frontend http-in
    bind %s
    default_backend servers
backend servers
    balance roundrobin
    option httpchk HEAD /deploy.txt HTTP/1.0
    server server1 %s check inter 200 rise 2 fall 2
    server server2 %s weight 5
`, w.hAdmin, w.hUser, w.hFront, sites[0], sites[1])
	tcfg := fmt.Sprintf(`global:
  stats_sockets:
    - {address: "%s/{node}-admin.sock", mode: "600", level: admin}
    - {address: "%s/{node}-user.sock", mode: "600", level: user}
defaults:
  mode: http
  timeouts: {connect: 5s, client: 50s, server: 50s}
frontends:
  - {name: http-in, bind: ["%s"], default_backend: servers}
backends:
  - name: servers
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: server1, address: %s, check: true, inter: 200ms, rise: 2, fall: 2}
      - {name: server2, address: %s, weight: 5}
`, dir, dir, w.tFront, sites[0], sites[1])
	hpath, tpath := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(hpath, []byte(hcfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tpath, []byte(tcfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := exec.CommandContext(ctx, bin, "-db", "-f", hpath)
	var hlog strings.Builder
	h.Stdout, h.Stderr = &hlog, &hlog
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	hdone := make(chan struct{})
	go func() { _ = h.Wait(); close(hdone) }()
	t.Cleanup(func() {
		cancel()
		<-hdone
		if t.Failed() {
			t.Logf("haproxy log:\n%s", hlog.String())
		}
	})
	w.node = proctest.NewNode(t, "lb1", "--cluster-config", tpath)
	w.node.Start()
	proctest.WaitFor(t, "tandem serving config version 1", 30*time.Second, func() bool {
		st, err := w.node.Status()
		return err == nil && st.Version == 1
	})
	for _, sock := range []string{w.hAdmin, w.tAdmin} {
		proctest.WaitFor(t, sock+" showing server1 UP after an L7OK check", 30*time.Second, func() bool {
			out, err := ask(sock, "show stat\n")
			return err == nil && statCell(out, "server1", "status") == "UP" && statCell(out, "server1", "check_status") == "L7OK"
		})
	}
	return w
}

// ask sends raw bytes to a socket, half-closes, and reads the answer.
func ask(socket, in string) (string, error) {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, in); err != nil {
		return "", err
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

func mustAsk(t *testing.T, socket, in string) string {
	t.Helper()
	out, err := ask(socket, in)
	if err != nil {
		t.Fatalf("%s ← %q: %v", socket, in, err)
	}
	return out
}

// statRows parses show stat's CSV into rows keyed "pxname/svname".
func statRows(out string) (header []string, rows map[string]map[string]string) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, nil
	}
	rows = map[string]map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, name := range recs[0] {
			if i < len(rec) {
				m[name] = rec[i]
			}
		}
		rows[m["pxname"]+"/"+m["svname"]] = m
	}
	return recs[0], rows
}

func statCell(out, server, col string) string {
	_, rows := statRows(out)
	return rows["servers/"+server][col]
}

// TestAnswersAsHAProxy26 compares tandem's runtime API with Debian's
// HAProxy 2.6 on the same setup, byte for byte where the format is the
// interface (management.txt 9.3; stats.c's CSV and typed forms; proxy.c's
// server state dump).
func TestAnswersAsHAProxy26(t *testing.T) {
	w := startTwins(t)
	same := func(what string, h, tn string) {
		t.Helper()
		if h != tn {
			t.Errorf("%s:\nhaproxy %q\n tandem %q", what, h, tn)
		}
	}
	// Answers and framing that must be identical.
	for _, in := range []string{
		"show backend\n", "show backend\r\n", "show backend;show cli level\n", "show backend;",
		"prompt\nshow backend\nquit\n", "prompt\nprompt\nshow cli level\n", "quit\n", "show backend",
		"get weight servers/server2\n", "get weight servers\n",
		"set server servers/nope state drain\n", "set server nope/server1 state drain\n", "set server servers state drain\n",
		"set server servers/server1\n", "set server servers/server1 state foo\n", "set server servers/server1 weight 300\n",
		"set server servers/server1 weight abc\n", "set server servers/server1 weight 7x\n", "set server servers/server1 weight\n",
		"set maxconn server servers/server1 x\n", "set maxconn server servers/server1\n",
		"set server servers/server1 addr\n", "set server servers/server1 addr bad\n",
		"enable health servers/server2\n", "show servers state nope\n", "show stat nope -1 -1\n", "show stat domain x\n",
		"set timeout cli\n", "set timeout cli 0\n", "set timeout server 1\n", "set timeout cli 30\n",
		"show cli level\n", "operator\nshow cli level\nuser\nshow cli level\n",
		"set server servers/server1 agent up\n", "set server servers/server1 fqdn x\n",
	} {
		same(fmt.Sprintf("admin socket ← %q", in), mustAsk(t, w.hAdmin, in), mustAsk(t, w.tAdmin, in))
	}
	for _, in := range []string{
		"set server servers/server1 state drain\n", "set server servers/nope state drain\n", "disable server servers/server1\n",
		"set weight servers/server1 3\n", "clear counters\n", "clear counters all\n", "disable health servers/server1\n",
		"set maxconn server servers/server1 3\n", "operator\n", "show cli level\n", "get weight servers/server1\n",
	} {
		same(fmt.Sprintf("user socket ← %q", in), mustAsk(t, w.hUser, in), mustAsk(t, w.tUser, in))
	}
	// Unknown commands: HAProxy's first line; the suggestions are
	// tandem's own commands, by HAProxy's distance, each a line of
	// HAProxy's help.
	hHelp := mustAsk(t, w.hAdmin, "help\n")
	for _, in := range []string{"\n", "foo\n", "show foo\n", "show\n", "set serve\n", "help show\n", "help\n"} {
		h, tn := mustAsk(t, w.hAdmin, in), mustAsk(t, w.tAdmin, in)
		hFirst, _, _ := strings.Cut(h, "\n")
		tFirst, rest, _ := strings.Cut(tn, "\n")
		same(fmt.Sprintf("first line of the answer to %q", in), hFirst, tFirst)
		for _, l := range strings.Split(strings.TrimRight(rest, "\n"), "\n") {
			if !strings.Contains(hHelp, l+"\n") {
				t.Errorf("%q: tandem suggests %q, not a line of HAProxy's help", in, l)
			}
		}
	}
	compareStat(t, w)
	compareServersState(t, w)
	// The same changes on both, then the same state.
	for _, in := range []string{"set server servers/server1 state drain\n", "set server servers/server2 weight 50%\n", "disable health servers/server1\n"} {
		same(fmt.Sprintf("admin socket ← %q", in), mustAsk(t, w.hAdmin, in), mustAsk(t, w.tAdmin, in))
	}
	proctest.WaitFor(t, "tandem applying the changes", 10*time.Second, func() bool {
		out := mustAsk(t, w.tAdmin, "show servers state\n")
		return strings.Contains(out, " server1 ") && serversStateCol(out, "server1", 6) == "8" && serversStateCol(out, "server2", 7) == "2" &&
			serversStateCol(out, "server1", 13) == "2"
	})
	// HAProxy keeps the last result of a disabled check; tandem stops
	// checking and has none (INI, result unknown): columns 10 and 11.
	compareServersState(t, w, 10, 11)
	hs, ts := mustAsk(t, w.hAdmin, "show stat\n"), mustAsk(t, w.tAdmin, "show stat\n")
	for _, s := range []string{"server1", "server2"} {
		for _, col := range []string{"status", "weight", "check_status"} {
			same(s+" "+col+" after the changes", statCell(hs, s, col), statCell(ts, s, col))
		}
	}
}

// compareStat: the CSV header is HAProxy's byte for byte; the rows have
// HAProxy's values in the columns both fill from configuration and state;
// tandem fills no column HAProxy leaves empty; the typed form's tags are
// HAProxy's.
func compareStat(t *testing.T, w *twins) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, front := range []string{w.hFront, w.tFront} {
		for i := range 6 {
			resp, err := hc.Get(fmt.Sprintf("http://%s/?i=%d", front, i))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	hs, ts := mustAsk(t, w.hAdmin, "show stat\n"), mustAsk(t, w.tAdmin, "show stat\n")
	hHead, _, _ := strings.Cut(hs, "\n")
	tHead, _, _ := strings.Cut(ts, "\n")
	if hHead != tHead {
		t.Errorf("CSV header:\nhaproxy %q\n tandem %q", hHead, tHead)
	}
	_, hRows := statRows(hs)
	_, tRows := statRows(ts)
	if len(hRows) != len(tRows) {
		t.Errorf("rows: haproxy %d, tandem %d", len(hRows), len(tRows))
	}
	cols := []string{"pxname", "svname", "status", "weight", "act", "bck", "pid", "iid", "sid", "type", "check_status", "check_code",
		"check_desc", "last_chk", "check_rise", "check_fall", "check_health", "addr", "mode", "algo", "uweight", "-"}
	for k, h := range hRows {
		tr, ok := tRows[k]
		if !ok {
			t.Errorf("tandem has no row %s", k)
			continue
		}
		for _, c := range cols {
			if h[c] != tr[c] {
				t.Errorf("%s %s: haproxy %q, tandem %q", k, c, h[c], tr[c])
			}
		}
		for c, v := range tr {
			if v != "" && h[c] == "" {
				t.Errorf("%s: tandem fills %s=%q, which HAProxy leaves empty", k, c, v)
			}
		}
	}
	for _, k := range []string{"http-in/FRONTEND", "servers/BACKEND"} {
		if hRows[k]["req_tot"] != "6" || tRows[k]["req_tot"] != "6" || hRows[k]["hrsp_2xx"] != tRows[k]["hrsp_2xx"] {
			t.Errorf("%s after 6 requests: haproxy req_tot %s 2xx %s, tandem req_tot %s 2xx %s", k,
				hRows[k]["req_tot"], hRows[k]["hrsp_2xx"], tRows[k]["req_tot"], tRows[k]["hrsp_2xx"])
		}
	}
	hTyped := mustAsk(t, w.hAdmin, "show stat typed\n")
	tags := map[string]bool{}
	for _, l := range strings.Split(hTyped, "\n") {
		if i := strings.LastIndex(l, ":"); i > 0 {
			tags[typedKey(l)] = true
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(mustAsk(t, w.tAdmin, "show stat typed\n")), "\n") {
		if !tags[typedKey(l)] {
			t.Errorf("tandem's typed line %q has no HAProxy twin (object, field, tags and type)", l)
		}
	}
}

// typedKey is a typed line without its value: "S.3.1.17.status.1:SGP:str".
func typedKey(l string) string {
	parts := strings.SplitN(l, ":", 4)
	if len(parts) < 3 {
		return l
	}
	return strings.Join(parts[:3], ":")
}

// compareServersState: the header byte for byte, and every column but
// the time since the last change (and skip's).
func compareServersState(t *testing.T, w *twins, skip ...int) {
	t.Helper()
	hs, ts := mustAsk(t, w.hAdmin, "show servers state\n"), mustAsk(t, w.tAdmin, "show servers state\n")
	hl, tl := strings.Split(hs, "\n"), strings.Split(ts, "\n")
	if len(hl) != len(tl) || hl[0] != tl[0] || hl[1] != tl[1] {
		t.Fatalf("show servers state:\nhaproxy %q\n tandem %q", hs, ts)
	}
	for i := 2; i < len(hl); i++ {
		hf, tf := strings.Fields(hl[i]), strings.Fields(tl[i])
		for c := range hf {
			if c == 9 || slices.Contains(skip, c) {
				continue // srv_time_since_last_change
			}
			if c >= len(tf) || hf[c] != tf[c] {
				t.Errorf("show servers state line %d column %d: haproxy %q, tandem %q", i, c, hl[i], tl[i])
				break
			}
		}
	}
}

func serversStateCol(out, server string, col int) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > col && len(f) > 3 && f[3] == server {
			return f[col]
		}
	}
	return ""
}

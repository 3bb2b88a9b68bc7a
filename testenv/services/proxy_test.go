package services

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// clientIP is the test client's address: another loopback address than
// the 127.0.0.1 every load balancer and server here uses, so that "the
// client's address" and "the previous hop's" cannot be confused.
const clientIP = "127.0.0.2"

// clientGet fetches url from clientIP.
func clientGet(t *testing.T, url string) (int, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 2 * time.Second}
	cl := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, clientIP, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNginxLogsTheClientBehindSendProxyV2: nginx with "listen ...
// proxy_protocol" behind tandem's send-proxy-v2 logs the test client's
// address as $proxy_protocol_addr, and tandem's health checks (which send a
// LOCAL header, as HAProxy's do) keep it up.
func TestNginxLogsTheClientBehindSendProxyV2(t *testing.T) {
	nginx := Need(t, "nginx", "nginx")
	dir := t.TempDir()
	port := FreePort(t)
	accessLog := filepath.Join(dir, "access.log")
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    log_format pp '$proxy_protocol_addr $remote_addr "$request"';
    access_log %[2]s pp;
    client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:%[3]d proxy_protocol;
        location / { return 200 "client $proxy_protocol_addr\n"; }
    }
}
`, dir, accessLog, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ng := Start(t, "nginx", exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf")))
	ng.WaitPort(t, Addr(port), 10*time.Second)

	fe := Addr(FreePort(t))
	s := config.Server{Name: "nginx", Address: Addr(port), Check: true,
		CheckTiming: config.CheckTiming{Inter: config.Duration(200 * time.Millisecond), Rise: 1, Fall: 1},
		ServerProxy: config.ServerProxy{SendProxy: config.ProxyV2}}
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "web", Mode: config.ModeHTTP, Bind: []string{fe}, DefaultBackend: "nginx"}},
		Backends: []config.Backend{{Name: "nginx", Mode: config.ModeHTTP, Servers: []config.Server{s},
			HealthCheck: &config.HealthCheck{Type: config.CheckHTTP, Method: "GET", Path: "/health"}}},
	}
	tn := StartTandem(t, c)
	WaitFor(t, "nginx checked up", 10*time.Second, func() bool { return tn.Server(t, "nginx", "nginx").Own == config.HealthUp })
	code, body := clientGet(t, "http://"+fe+"/page")
	if code != 200 || body != "client "+clientIP+"\n" {
		t.Errorf("nginx answered %d %q, want the client's address from the PROXY header", code, body)
	}
	var line string
	WaitFor(t, "nginx's access log line", 5*time.Second, func() bool {
		b, _ := os.ReadFile(accessLog)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "/page") {
				line = l
			}
		}
		return line != ""
	})
	t.Logf("nginx access log: %s", line)
	if !strings.HasPrefix(line, clientIP+" 127.0.0.1 ") {
		t.Errorf("nginx logged %q, want $proxy_protocol_addr %s and $remote_addr 127.0.0.1 (tandem)", line, clientIP)
	}
}

// TestTandemBehindHAProxySendProxyV2: Debian's HAProxy with send-proxy-v2
// in front of tandem's accept-proxy: tandem's access log, an ACL on src
// and X-Forwarded-For all show the original client, and HAProxy's own
// health check of tandem (a LOCAL header) passes.
func TestTandemBehindHAProxySendProxyV2(t *testing.T) {
	bin := Need(t, "haproxy", "haproxy")
	var mu sync.Mutex
	var xff []string
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		xff = append(xff, r.Header.Get("X-Forwarded-For"))
		mu.Unlock()
		io.WriteString(w, "ok")
	})}
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(bl)
	t.Cleanup(func() { backend.Close() })

	dir := t.TempDir()
	tandemAddr := Addr(FreePort(t))
	logPath := filepath.Join(dir, "tandem-access.log")
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "web", Mode: config.ModeHTTP, Bind: []string{tandemAddr}, DefaultBackend: "app",
			AcceptProxy: &config.AcceptProxy{Trusted: []string{"127.0.0.1"}}, ForwardFor: ptr(true),
			AccessLog: &config.AccessLog{Path: logPath},
			Rules:     config.Rules{HTTPRequest: []string{"deny deny_status 403 unless { src " + clientIP + " }"}}}},
		Backends: []config.Backend{{Name: "app", Mode: config.ModeHTTP, Servers: []config.Server{{Name: "app", Address: bl.Addr().String()}}}},
	}
	StartTandem(t, c)

	haAddr := Addr(FreePort(t))
	cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend in
    bind %s
    default_backend tandem
backend tandem
    server t %s send-proxy-v2 check inter 200ms
`, haAddr, tandemAddr)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	ha := Start(t, "haproxy", exec.Command(bin, "-db", "-f", path))
	ha.WaitPort(t, haAddr, 10*time.Second)

	code, body := clientGet(t, "http://"+haAddr+"/via-haproxy")
	if code != 200 || body != "ok" {
		t.Fatalf("through HAProxy and tandem: %d %q (403: the src ACL did not see the client)", code, body)
	}
	mu.Lock()
	got := strings.Join(xff, ",")
	mu.Unlock()
	if got != clientIP {
		t.Errorf("X-Forwarded-For %q, want %s", got, clientIP)
	}
	var line string
	WaitFor(t, "tandem's access log line", 5*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "/via-haproxy") {
				line = l
			}
		}
		return line != ""
	})
	t.Logf("tandem access log: %s", line)
	if !strings.HasPrefix(line, clientIP+":") {
		t.Errorf("tandem logged %q, want the client %s", line, clientIP)
	}
	// Without HAProxy in between, the same client is refused: 127.0.0.2 is not a trusted proxy.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
	conn, err := d.Dial("tcp", tandemAddr)
	if err == nil {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(conn, "PROXY TCP4 203.0.113.1 %s 1 80\r\nGET / HTTP/1.0\r\n\r\n", "127.0.0.1")
		if n, _ := conn.Read(make([]byte, 1)); n != 0 {
			t.Error("an untrusted peer's PROXY header was accepted")
		}
		conn.Close()
	}
	if strings.Contains(ha.Output(), "DOWN") {
		t.Errorf("HAProxy's check of tandem (PROXY v2 LOCAL) failed:\n%s", ha.Output())
	}
}

func ptr[T any](v T) *T { return &v }

package health

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// The protocol checks against servers that speak just enough of each
// protocol; the real servers (Debian's MariaDB, PostgreSQL, Redis) are in
// testenv/services.

func probeType(t *testing.T, typ config.CheckType, rules config.CheckRules, addr string) result {
	t.Helper()
	hc := &config.HealthCheck{Type: typ, CheckRules: rules}
	return specOf(t, hc, config.Server{Address: addr, CheckTiming: config.CheckTiming{Inter: config.Duration(500 * time.Millisecond)}}).probe(context.Background())
}

func TestRedisCheck(t *testing.T) {
	ok := rawServer(t, fakeRedis("master"))
	loading := rawServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "-LOADING Redis is loading the dataset in memory\r\n")
	})
	if r := probeType(t, config.CheckRedis, config.CheckRules{}, ok); r.verdict != pass || r.desc != "L7OK: Redis server is ok" {
		t.Errorf("PONG: %v %q", r.verdict, r.desc)
	}
	r := probeType(t, config.CheckRedis, config.CheckRules{}, loading)
	if r.verdict != fail || r.desc != "L7STS: redis-check step 3 expect string \"+PONG\": -LOADING Redis is loading the dataset in memory" {
		t.Errorf("LOADING: %v %q", r.verdict, r.desc)
	}
}

// fakeMySQL sends a greeting, reads the login packet, answers it.
func fakeMySQL(answer []byte) func(net.Conn) {
	return func(c net.Conn) {
		greeting := append([]byte{0x0a}, "10.11.6-MariaDB-0+deb12u1\x00\x01\x00\x00\x00"...)
		c.Write(packet(0, greeting))
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		io.ReadFull(c, make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16))
		c.Write(packet(2, answer))
		io.Copy(io.Discard, c)
	}
}

func packet(seq byte, body []byte) []byte {
	n := len(body)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, body...)
}

func TestMySQLCheck(t *testing.T) {
	okPkt := []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}
	denied := append([]byte{0xff, 0x15, 0x04}, "#28000Access denied for user 'nobody'@'localhost'"...)
	login := make(chan []byte, 1)
	recording := rawServer(t, func(c net.Conn) {
		c.Write(packet(0, append([]byte{0x0a}, "8.0.36\x00"...)))
		b := make([]byte, 128)
		n, _ := io.ReadAtLeast(c, b, 4)
		login <- b[:n]
		c.Write(packet(2, okPkt))
	})
	if r := probeType(t, config.CheckMySQL, config.CheckRules{User: "haproxy"}, recording); r.verdict != pass || r.desc != "L7OK: 8.0.36" {
		t.Errorf("ok: %v %q", r.verdict, r.desc)
	}
	// HAProxy's post-4.1 login: capabilities 0x00008200, max packet, utf8, 23 zeros, the user, then COM_QUIT.
	want := mysqlLogin("haproxy", false)
	if got := <-login; string(got) != string(want) || want[3] != 1 || int(want[0]) != len("haproxy")+34 {
		t.Errorf("login packet %x, want %x", got, want)
	}
	r := probeType(t, config.CheckMySQL, config.CheckRules{User: "nobody"}, rawServer(t, fakeMySQL(denied)))
	if r.verdict != fail || r.code != 1045 || r.desc != "L7STS 1045: mysql-check step 4 expect login OK: Access denied for user 'nobody'@'localhost'" {
		t.Errorf("denied: %v %q code %d", r.verdict, r.desc, r.code)
	}
	if r := probeType(t, config.CheckMySQL, config.CheckRules{}, rawServer(t, fakeMySQL(okPkt))); r.verdict != pass || !strings.Contains(r.desc, "MariaDB") {
		t.Errorf("greeting only: %v %q", r.verdict, r.desc)
	}
	truncated := rawServer(t, func(c net.Conn) { c.Write([]byte{0x50, 0, 0, 0, 0x0a}) })
	if r := probeType(t, config.CheckMySQL, config.CheckRules{}, truncated); r.verdict != fail || r.status != "L7RSP" {
		t.Errorf("truncated: %v %q", r.verdict, r.desc)
	}
	if pre := mysqlLogin("u", true); int(pre[0]) != len("u")+7 {
		t.Errorf("pre-4.1 packet length %d, want %d", pre[0], len("u")+7)
	}
}

func fakePostgres(answer []byte) func(net.Conn) {
	return func(c net.Conn) {
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(hdr)-4))
		c.Write(answer)
		io.Copy(io.Discard, c)
	}
}

func TestPgSQLCheck(t *testing.T) {
	authOK := []byte{'R', 0, 0, 0, 8, 0, 0, 0, 0}
	md5 := []byte{'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4}
	sasl := append([]byte{'R', 0, 0, 0, 23, 0, 0, 0, 10}, "SCRAM-SHA-256\x00\x00"...)
	errResp := []byte("E\x00\x00\x00\x3aSFATAL\x00VFATAL\x00C28000\x00Mrole \"bad\" does not exist\x00\x00")
	tests := []struct {
		name   string
		answer []byte
		want   verdict
		desc   string
	}{
		{"trust", authOK, pass, "L7OK: PostgreSQL server is ok"},
		{"md5 password asked", md5, pass, "L7OK: PostgreSQL server is ok"},
		{"SCRAM is not an answer HAProxy knows", sasl, fail, "L7STS: pgsql-check step 4 expect Authentication request: PostgreSQL unknown error"},
		{"unknown role", errResp, fail, `L7RSP: pgsql-check step 3 expect no ErrorResponse: FATAL: role "bad" does not exist`},
	}
	for _, tt := range tests {
		r := probeType(t, config.CheckPgSQL, config.CheckRules{User: "bad"}, rawServer(t, fakePostgres(tt.answer)))
		if r.verdict != tt.want || r.desc != tt.desc {
			t.Errorf("%s: %v %q, want %v %q", tt.name, r.verdict, r.desc, tt.want, tt.desc)
		}
	}
	// The StartupMessage: length, protocol 3.0, "user", the name.
	got := make(chan []byte, 1)
	addr := rawServer(t, func(c net.Conn) {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, b, 20)
		got <- b[:n]
	})
	probeType(t, config.CheckPgSQL, config.CheckRules{User: "haproxy"}, addr)
	if b := <-got; string(b) != "\x00\x00\x00\x16\x00\x03\x00\x00user\x00haproxy\x00\x00" {
		t.Errorf("startup message %q", b)
	}
}

func TestLDAPCheck(t *testing.T) {
	bindResp := func(code byte) []byte {
		return []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00}
	}
	for _, tt := range []struct {
		name   string
		answer []byte
		want   verdict
		status string
	}{
		{"success", bindResp(0), pass, "L7OK"},
		{"invalid credentials", bindResp(49), fail, "L7STS"},
		{"not LDAP", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), fail, "L7RSP"},
		{"long length form", append([]byte{0x30, 0x84, 0, 0, 0, 0x0c}, bindResp(0)[2:]...), pass, "L7OK"},
	} {
		addr := rawServer(t, func(c net.Conn) {
			io.ReadFull(c, make([]byte, 14))
			c.Write(tt.answer)
			io.Copy(io.Discard, c)
		})
		r := probeType(t, config.CheckLDAP, config.CheckRules{}, addr)
		if r.verdict != tt.want || r.status != tt.status {
			t.Errorf("%s: %v %q, want %v %s", tt.name, r.verdict, r.desc, tt.want, tt.status)
		}
	}
}

func TestSSLHelloCheckAgainstATLSServer(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	addr := rawServer(t, func(c net.Conn) { tls.Server(c, cfg).Handshake() })
	// Go refuses SSLv3 with an alert record (0x15): a TLS speaker, as HAProxy judges it.
	if r := probeType(t, config.CheckSSLHello, config.CheckRules{}, addr); r.verdict != pass || r.status != "L6OK" {
		t.Errorf("TLS server: %v %q", r.verdict, r.desc)
	}
	plain := rawServer(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") })
	if r := probeType(t, config.CheckSSLHello, config.CheckRules{}, plain); r.verdict != fail || r.status != "L6RSP" {
		t.Errorf("plain server: %v %q", r.verdict, r.desc)
	}
	if h := sslv3ClientHello(); len(h) != 5+0x79 || h[0] != 0x16 || string(h[15:43]) != "HAPROXYSSLCHK\nHAPROXYSSLCHK\n" {
		t.Errorf("ClientHello of %d bytes: %x", len(h), h)
	}
}

func TestCheckTLS(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"db.example"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	sni := make(chan string, 1)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) { sni <- h.ServerName; return nil, nil }}
	addr := rawServer(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			readRequest(tc)
			io.WriteString(tc, "HTTP/1.0 200 OK\r\n\r\n")
		}
	})
	hc := &config.HealthCheck{Type: config.CheckHTTP, Path: "/"}
	s := config.Server{Address: addr, ServerCheck: config.ServerCheck{CheckTLS: &config.CheckTLS{SNI: "db.example"}}}
	if r := specOf(t, hc, s).probe(context.Background()); r.verdict != pass || r.desc != "L7OK 200" {
		t.Errorf("check over TLS: %v %q", r.verdict, r.desc)
	}
	if got := <-sni; got != "db.example" {
		t.Errorf("SNI %q", got)
	}
	plain := rawServer(t, func(c net.Conn) { io.WriteString(c, "hello\r\n") })
	s.Address = plain
	if r := specOf(t, hc, s).probe(context.Background()); r.status != "L6RSP" {
		t.Errorf("TLS to a plain server: %q, want L6RSP", r.desc)
	}
}

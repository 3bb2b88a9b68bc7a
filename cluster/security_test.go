package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWrongClusterKeyIsRejected(t *testing.T) {
	logs := &logBuffer{}
	acfg := nodeConfig(t, "a", testKey)
	an, err := New(acfg, Deps{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	a := runNode(t, an, acfg)
	waitFor(t, "a leads", 10*time.Second, func() bool { return a.Raft().State == "Leader" })

	otherKey := bytes.Repeat([]byte{7}, 32)
	b := startNode(t, nodeConfig(t, "b", otherKey))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = b.Join(ctx, []string{gossipAddr(acfg)})
	t.Logf("join error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "cluster_key is the same on every node") {
		t.Fatalf("join with another key: got %v, want an error naming cluster_key", err)
	}
	if n := len(a.Members()); n != 1 {
		t.Fatalf("a sees %d members after a rejected join", n)
	}

	// Raft port: the TLS handshake fails on both sides with a clear reason.
	rt := b.rt.Load()
	_, err = rt.mux.dial(a.rt.Load().raftAddr, connForward, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not signed by this cluster's key") {
		t.Fatalf("raft dial with another key: got %v", err)
	}
	waitFor(t, "a logs the rejected raft connection", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "reject raft connection from 127.0.0.1:") &&
			strings.Contains(logs.String(), "is cluster_key the same on every node?")
	})
}

func TestMutualTLSRejectsPlainAndForeignPeers(t *testing.T) {
	now := time.Now()
	good, err := keyTLSConfig("a", testKey, now)
	if err != nil {
		t.Fatal(err)
	}
	sameKey, err := keyTLSConfig("b", testKey, now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := keyTLSConfig("c", bytes.Repeat([]byte{1}, 32), now)
	if err != nil {
		t.Fatal(err)
	}
	handshake := func(client, server *tls.Config) (clientErr, serverErr error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			tc := tls.Server(c, server)
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Read(make([]byte, 1)) // TLS 1.3: the client's certificate is checked after the client's handshake returns
			}
			done <- err
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Client(c, client)
		clientErr = tc.Handshake()
		if clientErr == nil {
			tc.Write([]byte{1})
		}
		return clientErr, <-done
	}
	if cerr, serr := handshake(sameKey, good); cerr != nil || serr != nil {
		t.Fatalf("same key: client %v, server %v", cerr, serr)
	}
	cerr, serr := handshake(foreign, good)
	if cerr == nil || !strings.Contains(cerr.Error(), "not signed by this cluster's key") {
		t.Fatalf("foreign key: client error %v", cerr)
	}
	if serr == nil {
		t.Fatal("foreign key: the server accepted the connection")
	}
	plain := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cerr, serr := handshake(plain, good); cerr == nil && serr == nil {
		t.Fatal("a client without a certificate was accepted")
	}
}

func TestCADerivationIsDeterministic(t *testing.T) {
	ca1, _, err := deriveCA(testKey)
	if err != nil {
		t.Fatal(err)
	}
	ca2, _, err := deriveCA(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca1.Raw, ca2.Raw) {
		t.Fatal("two derivations from the same key gave different CA certificates")
	}
	ca3, _, _ := deriveCA(bytes.Repeat([]byte{1}, 32))
	if bytes.Equal(ca1.Raw, ca3.Raw) {
		t.Fatal("different keys gave the same CA")
	}
}

func TestJoinBadAddressSaysWhat(t *testing.T) {
	n := startNode(t, nodeConfig(t, "a", testKey))
	waitFor(t, "a leads", 10*time.Second, func() bool { return n.Raft().State == "Leader" })
	for _, addr := range []string{"no-such-host.invalid:7946", "127.0.0.1:1"} {
		err := n.Join(context.Background(), []string{addr})
		t.Logf("join error: %v", err)
		if err == nil || !strings.Contains(err.Error(), "join "+addr) {
			t.Errorf("join %s: got %v, want an error naming the address", addr, err)
		}
	}
	if err := n.Join(context.Background(), nil); err == nil {
		t.Error("join with no address: want an error")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() Config {
		return Config{Node: "a", DataDir: t.TempDir(), BindAddr: "127.0.0.1"}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"data dir is a file", func(c *Config) { c.DataDir = file }, "is not a directory"},
		{"data dir under a file", func(c *Config) { c.DataDir = filepath.Join(file, "sub") }, "data_dir " + filepath.Join(file, "sub")},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data_dir is empty"},
		{"no node name", func(c *Config) { c.Node = "" }, "node name is empty"},
		{"bad bind", func(c *Config) { c.BindAddr = "localhost" }, "bind_addr"},
		{"no key beyond loopback", func(c *Config) { c.BindAddr = "0.0.0.0"; c.AdvertiseAddr = "10.0.0.1" }, "tandem keygen"},
		{"short key", func(c *Config) { c.ClusterKey = []byte("short") }, "want 32"},
		{"partial tls", func(c *Config) { c.TLSCA = "ca.pem" }, "all three or none"},
		{"missing tls files", func(c *Config) { c.TLSCA, c.TLSCert, c.TLSKey = "/nonexistent/ca", "c", "k" }, "tls_ca"},
		{"same ports", func(c *Config) { c.GossipPort, c.RaftPort = 7000, 7000 }, "must differ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.edit(&cfg)
			_, err := New(cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("insecure beyond loopback is allowed", func(t *testing.T) {
		cfg := base()
		cfg.BindAddr, cfg.AdvertiseAddr, cfg.Insecure = "0.0.0.0", "10.0.0.1", true
		if _, err := New(cfg, Deps{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPlainTCPOnLoopbackWithoutKey(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	_, followers := leaderOf(t, nodes)
	applyTestConfig(t, followers[0], 0, "s1")
	waitVersion(t, nodes, 1)
}

// The FSM panics on an entry it cannot decode, so the leader must refuse
// such a forwarded command instead of appending it.
func TestLeaderRejectsUndecodableForwardedCommand(t *testing.T) {
	nodes := startCluster(t, 2, testKey)
	leader, followers := leaderOf(t, nodes)
	var resp forwardResponse
	err := followers[0].roundTrip(context.Background(), followers[0].rt.Load(), leader.rt.Load().raftAddr, connForward,
		forwardRequest{Data: []byte{0x7e, '{', '}'}}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Err == nil || resp.Err.Code != "invalid" {
		t.Fatalf("response %+v, want an invalid-command error", resp)
	}
	applyTestConfig(t, followers[0], 0, "s1") // the cluster still works
}

package bgp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	bgppkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"

	"github.com/tandem-lb/tandem/config"
)

// fakeHost binds nothing (no root needed) and records what it was asked.
type fakeHost struct {
	mu    sync.Mutex
	bound map[netip.Prefix]bool
}

func (h *fakeHost) bind(p netip.Prefix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bound[p] = true
	return nil
}

func (h *fakeHost) unbind(p netip.Prefix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.bound, p)
	return nil
}

func (h *fakeHost) linkUp(string) (bool, error) { return true, nil }

// router is a plain GoBGP speaker on loopback standing in for a router:
// AS 65000, passive towards 127.0.0.1 (AS 65001).
func router(t *testing.T) (*server.BgpServer, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := server.NewBgpServer(server.LoggerOption(slogLogger{l: discard()}))
	go r.Serve()
	ctx := context.Background()
	if err := r.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: 65000, RouterId: "10.255.0.1",
		ListenPort: int32(port), ListenAddresses: []string{"127.0.0.1"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.StopBgp(context.Background(), &api.StopBgpRequest{}) })
	if err := r.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65001},
		Transport: &api.Transport{PassiveMode: true},
		AfiSafis:  peerConf(config.BGPPeer{}).AfiSafis, // IPv4 and IPv6 unicast
	}}); err != nil {
		t.Fatal(err)
	}
	return r, port
}

// received is what the router has for prefix: its AS path and communities
// as text, "" when it has no path.
func received(t *testing.T, r *server.BgpServer, prefix string) string {
	t.Helper()
	var out string
	afi := api.Family_AFI_IP
	if strings.Contains(prefix, ":") {
		afi = api.Family_AFI_IP6
	}
	err := r.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL,
		Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}}, func(d *api.Destination) {
		if d.Prefix != prefix {
			return
		}
		for _, p := range d.Paths {
			attrs, err := apiutil.GetNativePathAttributes(p)
			if err != nil {
				t.Errorf("path attributes: %v", err)
				return
			}
			var parts []string
			for _, a := range attrs {
				switch a := a.(type) {
				case *bgppkt.PathAttributeAsPath:
					parts = append(parts, "aspath "+a.String())
				case *bgppkt.PathAttributeCommunities:
					parts = append(parts, "communities "+a.String())
				case *bgppkt.PathAttributeLargeCommunities:
					parts = append(parts, "large "+a.String())
				}
			}
			out = strings.Join(parts, "; ")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSpeakerAnnouncesWhileReadyAndShutsDownGracefully(t *testing.T) {
	r, port := router(t)
	s, err := New(Config{Node: "lb1", ASN: 65001, RouterID: "10.255.0.2", ShutdownWait: 600 * time.Millisecond,
		Peers: []config.BGPPeer{{Address: "127.0.0.1", ASN: 65000, Port: port, HoldTime: 3 * time.Second, Keepalive: time.Second}}},
		Deps{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{bound: map[netip.Prefix]bool{}}
	s.host = h
	s.Update([]config.VIP{
		{Name: "web", Address: "10.9.0.1/32", Frontends: []string{"http"}, Announce: "bgp",
			Communities: []string{"65001:100"}, LargeCommunities: []string{"65001:1:2"}},
		{Name: "web6", Address: "fd00::100/64", Frontends: []string{"http"}, Announce: "bgp"},
		{Name: "arp", Address: "10.9.0.2/24"}, // announce: arp, not the speaker's
	})
	s.SetView(View{Members: []Member{{Name: "lb1", Alive: true}}})
	s.SetReady(map[string]bool{"http": false})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- s.Run(ctx) }()
	// Fresh views, as the agent sends them: a loop stalled under load
	// (-race, parallel packages) is fenced until the next one.
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
				s.SetView(View{Members: []Member{{Name: "lb1", Alive: true}}})
			}
		}
	}()
	defer func() { cancel(); <-done; <-done }()

	waitFor(t, "an established session", func() bool {
		st := s.Status()
		return len(st.Sessions) == 1 && st.Sessions[0].State == "established"
	})
	time.Sleep(300 * time.Millisecond)
	if got := received(t, r, "10.9.0.1/32"); got != "" {
		t.Fatalf("announced while the frontend is not ready: %s", got)
	}
	waitFor(t, "the status to say why", func() bool {
		st := s.Status()
		return len(st.VIPs) == 2 && strings.Contains(st.VIPs[0].Reason, "frontend http is not ready")
	})

	s.SetReady(map[string]bool{"http": true})
	waitFor(t, "the route at the router", func() bool { return received(t, r, "10.9.0.1/32") != "" })
	got := received(t, r, "10.9.0.1/32")
	for _, want := range []string{"AsPath: 65001}", "65001:100", "65001:1:2"} {
		if !strings.Contains(got, want) {
			t.Errorf("router has %q, want %q in it", got, want)
		}
	}
	waitFor(t, "the IPv6 host route at the router", func() bool { return received(t, r, "fd00::100/128") != "" })
	h.mu.Lock()
	if !h.bound[netip.MustParsePrefix("10.9.0.1/32")] || !h.bound[netip.MustParsePrefix("fd00::100/128")] || len(h.bound) != 2 {
		t.Errorf("bound %v, want 10.9.0.1/32 and fd00::100/128", h.bound)
	}
	h.mu.Unlock()
	if m := s.LocalMeta()[metaKey]; m != "web:100ea,web6:100ea" {
		t.Errorf("gossiped %q", m)
	}

	s.SetReady(map[string]bool{"http": false})
	waitFor(t, "the withdrawal", func() bool { return received(t, r, "10.9.0.1/32") == "" })
	s.SetReady(map[string]bool{"http": true})
	waitFor(t, "the route again", func() bool { return received(t, r, "10.9.0.1/32") != "" })

	// Planned stop: GRACEFUL_SHUTDOWN (65535:0) first, then withdrawn.
	var seen []string
	var mu sync.Mutex
	watch := make(chan struct{})
	go func() {
		defer close(watch)
		for range 40 {
			g := received(t, r, "10.9.0.1/32")
			mu.Lock()
			seen = append(seen, g)
			mu.Unlock()
			if g == "" {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	<-watch
	mu.Lock()
	defer mu.Unlock()
	gshut := slices.ContainsFunc(seen, func(g string) bool { return strings.Contains(g, "65535:0") || strings.Contains(g, "planned-shut") })
	if !gshut || seen[len(seen)-1] != "" {
		t.Errorf("router saw %q during the stop, want the GRACEFUL_SHUTDOWN community, then no route", seen)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("Shutdown took %v, want about ShutdownWait (600ms)", took)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

package bgp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/vip"
)

// A track script of weight 0 that fails withdraws every BGP VIP of the
// node; one with a weight moves the node's priority (mode primary), as the
// ARP manager applies it.
func TestTrackScriptGatesAnnouncements(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "ok")
	for _, tc := range []struct {
		weight   int
		wantPrio int // while failing
	}{{0, 150}, {-100, 50}} {
		s, err := New(Config{Node: "a", ASN: 65001, RouterID: "10.0.0.2",
			Peers:       []config.BGPPeer{{Address: "10.0.0.1", ASN: 65000}},
			Priority:    map[string]int{"v": 150},
			TrackScript: &vip.Script{Command: "test -e " + flag, Interval: 20 * time.Millisecond, Weight: tc.weight}}, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.track.Run(ctx) }()
		now := time.Unix(1000, 0)
		v := config.VIP{Name: "v", Address: "10.9.0.1/32", Frontends: []string{"web"}, Announce: "bgp", Mode: "primary"}
		in := inputs{view: view(2, Member{Name: "a", Alive: true}), viewAt: now, ready: map[string]bool{"web": true}}
		decide := func() decision {
			return s.decideVIP(now, v, s.nodeBlock(now, in), in)
		}
		waitUntil := func(what string, cond func() bool) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("weight %d: %s: not within 5s", tc.weight, what)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		os.Remove(flag)
		time.Sleep(100 * time.Millisecond) // the script has run, and failed
		d := decide()
		switch tc.weight {
		case 0:
			if d.route != nil || !strings.Contains(d.reason, "track script failing") {
				t.Errorf("weight 0, failing: route %+v, reason %q: want withdrawn", d.route, d.reason)
			}
		default:
			if d.route == nil || d.claim.Priority != tc.wantPrio {
				t.Errorf("weight %d, failing: route %+v, priority %d: want announced at %d", tc.weight, d.route, d.claim.Priority, tc.wantPrio)
			}
		}
		if err := os.WriteFile(flag, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		waitUntil("announced at priority 150 once the script succeeds", func() bool {
			d := decide()
			return d.route != nil && d.claim.Priority == 150
		})
		cancel()
		<-done
	}
}

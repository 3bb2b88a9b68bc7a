package bgp

import (
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

func newTestSpeaker(t *testing.T, node string) *Speaker {
	t.Helper()
	s, err := New(Config{Node: node, ASN: 65001, RouterID: "10.0.0.2", ShutdownWait: time.Second,
		Peers: []config.BGPPeer{{Address: "10.0.0.1", ASN: 65000}}, Priority: map[string]int{"v": 150}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func view(voters int, members ...Member) *View {
	return &View{Voters: voters, Members: members}
}

func TestDecideAnnouncesOnlyWhenReady(t *testing.T) {
	s := newTestSpeaker(t, "a")
	now := time.Unix(1000, 0)
	ecmp := config.VIP{Name: "v", Address: "10.9.0.1/32", Frontends: []string{"web"}, Announce: "bgp", Communities: []string{"65001:7"}}
	peer := Member{Name: "b", Alive: true, Claims: map[string]Claim{"v": {Priority: 200, Eligible: true, Announcing: true}}}
	in := inputs{view: view(2, Member{Name: "a", Alive: true}, peer), viewAt: now, ready: map[string]bool{"web": true}}

	d := s.decideVIP(now, ecmp, "", in)
	if d.route == nil || d.route.prepend != 0 || d.route.prefix.String() != "10.9.0.1/32" || len(d.route.communities) != 1 {
		t.Fatalf("ready ecmp node: route %+v, state %s (%s)", d.route, d.state, d.reason)
	}
	in.ready = map[string]bool{"web": false}
	if d := s.decideVIP(now, ecmp, "", in); d.route != nil || !strings.Contains(d.reason, "not ready") || d.claim.Announcing {
		t.Fatalf("frontend down: route %+v, reason %q", d.route, d.reason)
	}
	in.ready = map[string]bool{"web": true}
	if d := s.decideVIP(now, ecmp, "fenced: no quorum", in); d.route != nil {
		t.Fatalf("fenced node announces: %+v", d.route)
	}

	primary := ecmp
	primary.Mode = "primary"
	d = s.decideVIP(now, primary, "", in)
	if d.holder != "b" || d.route == nil || d.route.prepend != DefaultPrepend {
		t.Fatalf("primary with a better peer: holder %q, route %+v", d.holder, d.route)
	}
	in.view = view(2, Member{Name: "a", Alive: true}, Member{Name: "b", Alive: false, Claims: peer.Claims})
	d = s.decideVIP(now, primary, "", in)
	if d.holder != "a" || d.route == nil || d.route.prepend != 0 {
		t.Fatalf("primary with the peer dead: holder %q, route %+v", d.holder, d.route)
	}

	// A planned stop: GRACEFUL_SHUTDOWN first, withdrawn after ShutdownWait.
	in.stopping, in.stoppedAt = true, now
	d = s.decideVIP(now.Add(500*time.Millisecond), ecmp, "", in)
	if d.route == nil || d.route.communities[len(d.route.communities)-1] != communityGracefulShutdown || d.claim.Eligible {
		t.Fatalf("stopping: route %+v, claim %+v", d.route, d.claim)
	}
	if d := s.decideVIP(now.Add(time.Second), ecmp, "", in); d.route != nil {
		t.Fatalf("after ShutdownWait still announced: %+v", d.route)
	}
}

func TestNodeBlockFencesWithoutQuorumAndOnWitness(t *testing.T) {
	s := newTestSpeaker(t, "a")
	now := time.Unix(1000, 0)
	in := inputs{view: view(3, Member{Name: "a", Alive: true}, Member{Name: "b"}, Member{Name: "w", Role: "witness"}), viewAt: now}
	if b := s.nodeBlock(now, in); !strings.Contains(b, "no quorum") {
		t.Fatalf("1 of 3 alive: block %q", b)
	}
	in.view.Members[2].Alive = true
	if b := s.nodeBlock(now.Add(100*time.Millisecond), in); b != "" {
		t.Fatalf("2 of 3 alive (witness counts): block %q", b)
	}
	// A stall of a second fences until a fresh view.
	if b := s.nodeBlock(now.Add(1100*time.Millisecond), in); !strings.Contains(b, "stale view") {
		t.Fatalf("after a stall: block %q", b)
	}
	in.viewAt = now.Add(4 * time.Second)
	if b := s.nodeBlock(now.Add(1200*time.Millisecond), in); b != "" {
		t.Fatalf("fresh view after the stall: block %q", b)
	}
	in.view.Members[0].Role = "witness"
	if b := s.nodeBlock(now.Add(1300*time.Millisecond), in); !strings.Contains(b, "witness") {
		t.Fatalf("witness: block %q", b)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	in := map[string]Claim{"v1": {Priority: 150, Eligible: true, Announcing: true}, "v2": {Priority: 100}}
	m := EncodeMeta(in)
	if m[metaKey] != "v1:150ea,v2:100" {
		t.Fatalf("encoded %q", m[metaKey])
	}
	out, err := DecodeMeta(m)
	if err != nil || out["v1"] != in["v1"] || out["v2"] != in["v2"] {
		t.Fatalf("decoded %+v, %v", out, err)
	}
	if _, err := DecodeMeta(map[string]string{metaKey: "v1"}); err == nil {
		t.Fatal("want an error for a bad entry")
	}
}

func TestPrimaryWithoutPreemptKeepsTheCurrentPrimary(t *testing.T) {
	s := newTestSpeaker(t, "a") // priority 150 for v
	now := time.Unix(1000, 0)
	off := false
	v := config.VIP{Name: "v", Address: "10.9.0.1/32", Announce: "bgp", Mode: "primary", Preempt: &off}
	better := Member{Name: "b", Alive: true, Claims: map[string]Claim{"v": {Priority: 200, Eligible: true, Announcing: true}}}
	in := inputs{view: view(2, Member{Name: "a", Alive: true}, better), viewAt: now}

	s.primary["v"] = true // a is the primary since before b came back
	d := s.decideVIP(now, v, "", in)
	if d.holder != "a" || d.route == nil || d.route.prepend != 0 || !d.claim.Primary {
		t.Fatalf("preempt off: holder %q route %+v claim %+v, want a to stay primary", d.holder, d.route, d.claim)
	}
	on := true
	v.Preempt = &on
	if d := s.decideVIP(now, v, "", in); d.holder != "b" || d.route.prepend != DefaultPrepend || d.claim.Primary {
		t.Fatalf("preempt on: holder %q route %+v", d.holder, d.route)
	}
	// b claims primary too (a split healed): without preempt the better
	// of the two current primaries keeps it, on both sides.
	v.Preempt = &off
	better.Claims["v"] = Claim{Priority: 200, Eligible: true, Announcing: true, Primary: true}
	in.view = view(2, Member{Name: "a", Alive: true}, better)
	if d := s.decideVIP(now, v, "", in); d.holder != "b" {
		t.Fatalf("two primaries: holder %q, want b", d.holder)
	}
	m := EncodeMeta(map[string]Claim{"v": {Priority: 1, Eligible: true, Announcing: true, Primary: true}})
	if got, _ := DecodeMeta(m); !got["v"].Primary || m[metaKey] != "v:1eap" {
		t.Fatalf("meta %q decoded %+v", m[metaKey], got)
	}
}

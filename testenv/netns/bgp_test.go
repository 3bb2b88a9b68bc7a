package netns

import (
	"errors"
	"net"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/api"
)

// BGP VIPs against a real router: BIRD 2 from Debian's bird2 package. BIRD
// rather than FRR: one small daemon and one config file, started in the
// foreground by the test, with ECMP into the kernel in two lines (merge
// paths) and RFC 8326 as a two-line import filter; FRR needs zebra, bgpd
// and vtysh set up together.

// spread opens n connections from the client, one request each, and
// counts the answers by node.
func (l *bgpLab) spread(n int) (map[string]int, int) {
	by, failed := map[string]int{}, 0
	l.inClient(func() {
		for range n {
			s, err := get(time.Second)
			if err != nil {
				failed++
				continue
			}
			by[s]++
		}
	})
	return by, failed
}

// sample is one request of a flow of new connections.
type sample struct {
	at     time.Duration
	served string
	err    error
}

// flow sends a request on a new connection every 5 ms (200 ms timeout)
// from the client until stop is closed, and returns the samples.
func (l *bgpLab) flow(stop <-chan struct{}) <-chan []sample {
	out := make(chan []sample, 1)
	go l.inClient(func() {
		var ss []sample
		start := time.Now()
		for {
			select {
			case <-stop:
				out <- ss
				return
			default:
			}
			t0 := time.Now()
			s, err := get(200 * time.Millisecond)
			ss = append(ss, sample{at: t0.Sub(start), served: s, err: err})
			if d := 5*time.Millisecond - time.Since(t0); d > 0 {
				time.Sleep(d)
			}
		}
	})
	return out
}

// failWindow is the time from the first to the last failed sample, and
// the failure count.
func failWindow(ss []sample) (time.Duration, int) {
	var first, last time.Duration
	n := 0
	for _, s := range ss {
		if s.err == nil {
			continue
		}
		if n == 0 {
			first = s.at
		}
		last, n = s.at, n+1
	}
	if n == 0 {
		return 0, 0
	}
	return last - first + 200*time.Millisecond, n
}

// keepConns opens n keep-alive connections with one request each and
// returns them with the node each reached.
func (l *bgpLab) keepConns(n int) ([]net.Conn, []string) {
	var conns []net.Conn
	var served []string
	l.inClient(func() {
		for range n {
			c, err := net.DialTimeout("tcp", bgpVIP+":80", time.Second)
			if err != nil {
				l.t.Errorf("dial: %v", err)
				return
			}
			s, err := roundTrip(c, time.Second, false)
			if err != nil {
				l.t.Errorf("first request: %v", err)
				c.Close()
				return
			}
			conns, served = append(conns, c), append(served, s)
		}
	})
	l.t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns, served
}

// survivorsBroken sends one more request on every connection that was on
// a node other than gone, and counts those that fail or reach another
// node.
func survivorsBroken(conns []net.Conn, served []string, gone string) (broken, total int) {
	for i, c := range conns {
		if served[i] == gone {
			continue
		}
		total++
		s, err := roundTrip(c, time.Second, false)
		if err != nil || s != served[i] {
			broken++
		}
	}
	return broken, total
}

func TestBGPECMPSpreadKillAndGracefulStop(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 3})
	l.start(0, 1, 2)
	all := []string{l.Nodes[0].IP, l.Nodes[1].IP, l.Nodes[2].IP}

	// 1. Flows from one client spread over every node (L4 hash).
	const n = 1200
	by, failed := l.spread(n)
	t.Logf("%d connections: %v, %d failed; route: %s", n, by, failed, l.routes())
	if failed > 0 {
		t.Errorf("%d of %d connections failed with every node up", failed, n)
	}
	fair := float64(n) / 3
	for _, nd := range l.Nodes {
		got := by["site-"+nd.Name]
		if float64(got) < 0.5*fair || float64(got) > 1.5*fair {
			t.Errorf("%s got %d connections, want %0.f-%0.f (fair share %0.f)", nd.Name, got, 0.5*fair, 1.5*fair, fair)
		}
	}
	st := l.vipStatus(l.Nodes[0])
	if got := strings.Join(st.announcers, ","); got != "lbA,lbB,lbC" {
		t.Errorf("lbA's vip status: announcers %q, want lbA,lbB,lbC", got)
	}

	// 2. Graceful stop of lbC: GRACEFUL_SHUTDOWN, withdrawal, then the
	// listeners close; no new connection fails.
	conns, served := l.keepConns(150)
	stop := make(chan struct{})
	res := l.flow(stop)
	time.Sleep(300 * time.Millisecond)
	began := time.Now()
	l.Nodes[2].Agent.Stop()
	stopTook := time.Since(began)
	l.waitNexthops(all[:2], 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ss := <-res
	_, fails := failWindow(ss)
	var broken, total int
	l.inClient(func() { broken, total = survivorsBroken(conns, served, "site-lbC") })
	t.Logf("graceful stop of lbC (took %v): %d new connections, %d failed; established on lbA/lbB broken by the rehash: %d of %d (hash-threshold)",
		stopTook.Round(time.Millisecond), len(ss), fails, broken, total)
	// The router's hash-threshold rehash when lbC's path leaves the ECMP
	// set moves flows between lbA and lbB too (the established ones
	// counted above): a connection open at that instant can be reset by
	// the node it moved to. One such reset is allowed; any other failure,
	// or more, is lbC's doing (resilient nexthop groups avoid both: README).
	resets := 0
	for _, s := range ss {
		if s.err != nil {
			t.Logf("failed at %v: %v", s.at.Round(time.Millisecond), s.err)
			if errors.Is(s.err, syscall.ECONNRESET) {
				resets++
			}
		}
	}
	if fails > 1 || fails > resets {
		t.Errorf("graceful stop: %d of %d new connections failed (%d reset), want none but one reset by the rehash", fails, len(ss), resets)
	}

	// 3. SIGKILL of lbB: its kernel closes the BGP session at once (FIN),
	// the router withdraws without waiting for the hold timer.
	l.Nodes[2].Agent.Start()
	l.waitNexthops(all, 30*time.Second)
	conns, served = l.keepConns(150)
	stop = make(chan struct{})
	res = l.flow(stop)
	time.Sleep(300 * time.Millisecond)
	l.Nodes[1].Agent.Kill()
	withdrawn := l.waitNexthops([]string{all[0], all[2]}, bgpHold+2*time.Second)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ss = <-res
	window, fails := failWindow(ss)
	l.inClient(func() { broken, total = survivorsBroken(conns, served, "site-lbB") })
	t.Logf("SIGKILL of lbB: route withdrawn after %v; %d of %d new connections failed over %v; established on lbA/lbC broken by the rehash: %d of %d",
		withdrawn.Round(time.Millisecond), fails, len(ss), window.Round(time.Millisecond), broken, total)
	if window > bgpHold+time.Second {
		t.Errorf("new connections failed for %v after a SIGKILL, want at most the hold time %v + 1s", window, bgpHold)
	}

	// 4. A frozen node (a hung host: the session stays open, nothing
	// answers) is withdrawn by the router's hold timer.
	l.Nodes[1].Agent.Start()
	l.waitNexthops(all, 30*time.Second)
	stop = make(chan struct{})
	res = l.flow(stop)
	time.Sleep(300 * time.Millisecond)
	l.Nodes[2].Agent.Freeze()
	withdrawn = l.waitNexthops(all[:2], bgpHold+3*time.Second)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ss = <-res
	l.Nodes[2].Agent.Thaw()
	window, fails = failWindow(ss)
	t.Logf("SIGSTOP of lbC: route withdrawn after %v (hold %v); %d of %d new connections failed over %v",
		withdrawn.Round(time.Millisecond), bgpHold, fails, len(ss), window.Round(time.Millisecond))
	// The hold timer did it, not a closed session. (Withdrawn after 1.4-2.7
	// s: the last keepalive before the freeze was up to 1 s old, more
	// under the race detector on 2 CPUs.)
	if p := l.birdc("show protocols all lbC"); !strings.Contains(p, "Hold timer expired") {
		t.Errorf("BIRD's session with the frozen lbC did not end by its hold timer:\n%s", p)
	}
	if window > bgpHold+2*time.Second {
		t.Errorf("new connections failed for %v after a freeze, want at most hold %v + 2s", window, bgpHold)
	}
}

// bgpVIPView is one node's `tandem vip status` of vip1.
type bgpVIPView struct {
	state, reason, holder string
	announcers            []string
}

func (l *bgpLab) vipStatus(n *bgpNode) bgpVIPView {
	l.t.Helper()
	nd := &Node{Name: n.Name, Host: Host{NS: n.NS}, bin: n.bin}
	vs, err := nd.VIPStatus()
	if err != nil {
		return bgpVIPView{state: "error", reason: err.Error()}
	}
	for _, v := range vs {
		if v.Name == "vip1" {
			out := bgpVIPView{state: v.State, reason: v.Reason, holder: v.Holder}
			for _, x := range v.Nodes {
				out.announcers = append(out.announcers, x.Name)
			}
			sort.Strings(out.announcers)
			return out
		}
	}
	return bgpVIPView{state: "missing"}
}

func TestBGPNodeThatCannotBindNeverAnnounces(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 2})
	b := l.Nodes[0]
	// Something else holds *:80 on lbA: its frontend cannot bind.
	blocker := NewProc(t, "blocker", b.NS, b.bin, "testsite", "--name", "blocker",
		"--listen", "0.0.0.0:80", "--root", t.TempDir())
	blocker.Start()
	tp := &Topology{t: t}
	WaitFor(t, "the blocker to listen on *:80", 10*time.Second, func() bool {
		return strings.Contains(tp.Exec(b.NS, "ss", "-Htln", "sport = :80"), ":80")
	})
	l.start(1)
	WaitFor(t, "lbA to know why it does not announce", 30*time.Second, func() bool {
		return strings.Contains(l.vipStatus(b).reason, "not ready")
	})
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if hops := l.nexthops(); len(hops) != 1 || hops[0] != l.Nodes[1].IP {
			t.Fatalf("route %q: only lbB may be announced", l.routes())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := l.vipStatus(b)
	t.Logf("lbA: %+v", st)
	if st.state != "withdrawn" || !strings.Contains(st.reason, "not ready") {
		t.Errorf("lbA's vip1: state %q reason %q, want withdrawn because its frontend is not ready", st.state, st.reason)
	}
	blocker.Kill()
	took := l.waitNexthops([]string{b.IP, l.Nodes[1].IP}, 30*time.Second)
	t.Logf("lbA announces %v after the blocker left", took.Round(time.Millisecond))
}

func TestBGPNodeCutOffFromTheClusterWithdraws(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 3})
	l.start(0, 1, 2)
	all := []string{l.Nodes[0].IP, l.Nodes[1].IP, l.Nodes[2].IP}
	// lbC still reaches the router, but not its peers: no quorum.
	tp := &Topology{t: t}
	for _, ip := range all[:2] {
		tp.IP("-n", l.Nodes[2].NS, "route", "add", "blackhole", ip+"/32")
	}
	took := l.waitNexthops(all[:2], 15*time.Second)
	st := l.vipStatus(l.Nodes[2])
	t.Logf("lbC cut off: withdrawn after %v; its status: %+v", took.Round(time.Millisecond), st)
	if !strings.Contains(st.reason, "no quorum") {
		t.Errorf("lbC's reason %q, want no quorum", st.reason)
	}
	// Healed: lbC rejoins (a partition longer than memberlist's 30 s is
	// TestLongPartitionHeals) and announces again.
	for _, ip := range all[:2] {
		tp.IP("-n", l.Nodes[2].NS, "route", "del", "blackhole", ip+"/32")
	}
	took = l.waitNexthops(all, 40*time.Second)
	t.Logf("lbC announces again %v after the partition healed", took.Round(time.Millisecond))
}

func TestBGPPrimaryModePrefersTheHolderAndMovesOnKill(t *testing.T) {
	l := newBGPLab(t, bgpOptions{Nodes: 2, Mode: "primary"})
	// Both announce; the router's best path (one next hop) is lbA's
	// (priority 200): lbB's path is prepended.
	l.start(0)
	by, failed := l.spread(200)
	t.Logf("primary mode: %v, %d failed; route %s", by, failed, l.routes())
	if by["site-lbA"] != 200 {
		t.Errorf("primary mode: answers %v, want all 200 from lbA", by)
	}
	WaitFor(t, "BIRD to have lbB's prepended backup path", 20*time.Second, func() bool {
		return strings.Contains(l.birdc("show route "+bgpVIP+"/32 all"), "65001 65001 65001 65001")
	})
	stop := make(chan struct{})
	res := l.flow(stop)
	time.Sleep(300 * time.Millisecond)
	l.Nodes[0].Agent.Kill()
	moved := l.waitNexthops([]string{l.Nodes[1].IP}, bgpHold+2*time.Second)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	ss := <-res
	if len(ss) == 0 {
		t.Fatal("the client flow sent nothing")
	}
	window, fails := failWindow(ss)
	last := ss[len(ss)-1]
	t.Logf("kill of the primary lbA: route moved to lbB after %v; %d of %d failed over %v; last answer from %s",
		moved.Round(time.Millisecond), fails, len(ss), window.Round(time.Millisecond), last.served)
	if last.served != "site-lbB" {
		t.Errorf("after the kill the last answer came from %q (err %v), want site-lbB", last.served, last.err)
	}
}

func TestBGPWrongPasswordAndRefusedPeerShowInTheSessionState(t *testing.T) {
	// lbB's TCP-MD5 password differs from BIRD's; lbA has a second peer
	// that refuses it (BIRD's other address: not a configured neighbour).
	l := newBGPLab(t, bgpOptions{Nodes: 2,
		RouterPassword: map[int]string{1: "right"},
		PeerExtra:      map[int]string{1: ",password=wrong"},
		Extra:          map[int][]string{0: {"--bgp-peer", "address=10.98.0.254,asn=65000,hold_time=3s"}},
	})
	l.start(0)
	WaitFor(t, "lbA's session with the router", 20*time.Second, func() bool {
		return l.session(l.Nodes[0], bgpRouterIP).State == "established"
	})
	time.Sleep(4 * time.Second) // several connect retries
	good := l.session(l.Nodes[0], bgpRouterIP)
	refused := l.session(l.Nodes[0], "10.98.0.254")
	wrong := l.session(l.Nodes[1], bgpRouterIP)
	t.Logf("lbA→router: %+v; lbA→refusing peer: %+v; lbB (wrong password)→router: %+v; route %s", good, refused, wrong, l.routes())
	if good.PrefixesSent != 1 {
		t.Errorf("lbA sent %d prefixes to the router, want 1", good.PrefixesSent)
	}
	for what, s := range map[string]api.BGPSession{"refusing peer": refused, "wrong password": wrong} {
		if s.State == "" || s.State == "established" {
			t.Errorf("%s: session state %q, want a visible non-established state", what, s.State)
		}
	}
	if hops := l.nexthops(); len(hops) != 1 || hops[0] != l.Nodes[0].IP {
		t.Errorf("route %q, want only lbA (lbB's session cannot come up)", l.routes())
	}
}

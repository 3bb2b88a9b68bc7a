package services

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// agentd is a small agent-check agent: it answers every connection with
// its current line, as a load-aware or operator-driven agent on a server
// would.
type agentd struct {
	addr string
	line atomic.Pointer[string]
}

func startAgentd(t *testing.T, first string) *agentd {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agentd{addr: l.Addr().String()}
	a.say(first)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, *a.line.Load())
			c.Close()
		}
	}()
	return a
}

func (a *agentd) say(s string) { s += "\n"; a.line.Store(&s) }

func (a *agentd) port() int {
	_, p, _ := net.SplitHostPort(a.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// TestAgentDrivesTheBalancer: the agent's answers 50% → drain → down → up
// move traffic as HAProxy's agent-check does: a weight share, no new
// traffic, down, and back.
func TestAgentDrivesTheBalancer(t *testing.T) {
	var hits [2]atomic.Int64
	var addrs [2]string
	for i := range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[i].Add(1) })}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		addrs[i] = l.Addr().String()
	}
	agent := startAgentd(t, "up 100%")
	inter := 100 * time.Millisecond
	fe := Addr(FreePort(t))
	c := &config.Cluster{
		Frontends: []config.Frontend{{Name: "web", Mode: config.ModeHTTP, Bind: []string{fe}, DefaultBackend: "app"}},
		Backends: []config.Backend{{Name: "app", Mode: config.ModeHTTP, Servers: []config.Server{
			{Name: "a", Address: addrs[0], Weight: ptr(10), ServerCheck: config.ServerCheck{Agent: &config.AgentCheck{Port: agent.port(), Inter: config.Duration(inter)}}},
			{Name: "b", Address: addrs[1], Weight: ptr(10)},
		}}},
	}
	tn := StartTandem(t, c)
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	share := func(n int) (a, b int64) {
		t.Helper()
		a0, b0 := hits[0].Load(), hits[1].Load()
		for range n {
			resp, err := cl.Get("http://" + fe + "/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return hits[0].Load() - a0, hits[1].Load() - b0
	}
	steps := []struct {
		say      string
		own      config.Health
		weight   int   // as tandem status shows it
		wantA    int64 // of 300 requests
		tolerate int64
	}{
		{"up 100%", config.HealthUnknown, 10, 150, 3},
		{"50%", config.HealthUnknown, 5, 100, 3},
		{"drain", config.HealthNoLB, 5, 0, 0},
		{"down#maintenance", config.HealthDown, 5, 0, 0},
		{"up ready 100%", config.HealthUnknown, 10, 150, 3},
	}
	for _, st := range steps {
		agent.say(st.say)
		// Followed: tandem status shows the health and the agent's weight,
		// and a sample of 30 requests splits as the weight says.
		took := WaitFor(t, "tandem to follow "+st.say, 10*time.Second, func() bool {
			if s := tn.Server(t, "app", "a"); s.Own != st.own || s.Weight != st.weight || s.AgentResult == "" {
				return false
			}
			a, _ := share(30)
			return a >= st.wantA/10-1 && a <= st.wantA/10+1
		})
		a, b := share(300)
		t.Logf("agent says %-18q: followed in %v; a %d, b %d of 300", st.say, took.Round(time.Millisecond), a, b)
		if a < st.wantA-st.tolerate || a > st.wantA+st.tolerate {
			t.Errorf("agent %q: a got %d of 300 requests, want %d", st.say, a, st.wantA)
		}
	}
}

package health

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		line string
		want agentReply
	}{
		{"up\n", agentReply{health: "up", weight: -1}},
		{"75%\r\n", agentReply{weight: 75}},
		{"drain,50%", agentReply{admin: "drain", weight: 50}},
		{"ready up 100%", agentReply{health: "up", admin: "ready", weight: 100}},
		{"DOWN#disk full", agentReply{health: "down", weight: -1, desc: "disk full"}},
		{"stopped  # maintenance window", agentReply{health: "stopped", weight: -1, desc: "maintenance window"}},
		{"fail\tmaint", agentReply{health: "fail", admin: "maint", weight: -1}},
		{"up down", agentReply{health: "down", weight: -1}}, // the last of a kind wins
		{"maxconn:30 up", agentReply{health: "up", weight: -1, maxconn: "maxconn:30"}},
		{"sleepy 10%", agentReply{weight: 10, err: "sleepy"}},
		{"12x%", agentReply{weight: -1, err: "12x%"}},
		{"", agentReply{weight: -1}},
	}
	for _, tt := range tests {
		got := parseAgentReply(tt.line)
		tt.want.parsed = true
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(agentReply{})); diff != "" {
			t.Errorf("parseAgentReply(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
	if s := parseAgentReply("drain 50% #deploy").String(); s != "via agent : drain 50% (deploy)" {
		t.Errorf("String() = %q", s)
	}
}

// agentServer answers every connection with the current answer; it
// records what the balancer sent.
type agentServer struct {
	addr   string
	answer atomic.Pointer[string]
	sent   atomic.Pointer[string]
}

func newAgentServer(t *testing.T) *agentServer {
	a := &agentServer{}
	a.addr = rawServer(t, func(c net.Conn) {
		io.WriteString(c, *a.answer.Load()) // agents answer at once
		c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 64)
		if n, _ := io.ReadAtLeast(c, b, 1); n > 0 {
			s := string(b[:n])
			a.sent.Store(&s)
		}
	})
	return a
}

func (a *agentServer) say(s string) { a.answer.Store(&s) }

func (a *agentServer) port() int {
	_, p, _ := net.SplitHostPort(a.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// TestAgentDrivesWeightDrainDownUp: the agent's answers, as HAProxy
// applies them: a weight share, drain (nolb), down, up and ready.
func TestAgentDrivesWeightDrainDownUp(t *testing.T) {
	web := newSite(t)
	agent := newAgentServer(t)
	agent.say("up 50%\n")
	weights := 0
	rec := &recorder{}
	m, _ := New(Config{}, Deps{OnTransition: rec.add, OnAgentWeight: func(config.ServerKey) { weights++ }})
	c := articleCluster(config.CheckTiming{Inter: ms(1000), Rise: 1, Fall: 1}, web.addr())
	c.Backends[0].Servers[0].Agent = &config.AgentCheck{Port: agent.port(), Send: "hello\n"}
	m.Update(c)
	s := m.servers[server1]
	ctx := context.Background()
	m.checkOnce(ctx, s)
	steps := []struct {
		answer string
		health config.Health
		weight int
		admin  string
	}{
		{"up 50%\n", config.HealthUp, 50, ""},
		{"drain\n", config.HealthNoLB, 50, "drain"},
		{"down#db gone\n", config.HealthDown, 50, "drain"},
		{"up\n", config.HealthNoLB, 50, "drain"}, // still draining: only "ready" undoes drain
		{"ready 100%\n", config.HealthUp, 100, ""},
		{"maint\n", config.HealthDown, 100, "maint"},
		{"ready\n", config.HealthUp, 100, ""},
	}
	for i, st := range steps {
		agent.say(st.answer)
		m.checkAgentOnce(ctx, s)
		got := m.Status()[server1]
		if got.Health != st.health || got.AgentWeight != st.weight || got.AgentAdmin != st.admin {
			t.Fatalf("step %d (%q): health %v weight %d admin %q, want %v %d %q; result %q",
				i, st.answer, got.Health, got.AgentWeight, got.AgentAdmin, st.health, st.weight, st.admin, got.AgentResult)
		}
	}
	if sent := agent.sent.Load(); sent == nil || *sent != "hello\n" {
		t.Errorf("agent-send: the agent read %v", sent)
	}
	if weights != 2 {
		t.Errorf("OnAgentWeight called %d times, want 2 (50%%, then 100%%)", weights)
	}
	want := []config.Health{config.HealthUp, config.HealthNoLB, config.HealthDown, config.HealthNoLB, config.HealthUp, config.HealthDown, config.HealthUp}
	var got []config.Health
	for _, e := range rec.edges() {
		got = append(got, e.To)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestAgentUnreachableChangesNothing(t *testing.T) {
	agent := newAgentServer(t)
	agent.say("drain 10%\n")
	m, rec := newMonitor(t)
	dead := closedPort(t)
	_, port, _ := net.SplitHostPort(dead)
	c := articleCluster(config.CheckTiming{Inter: ms(1000), Rise: 1, Fall: 1}, agent.addr)
	c.Backends[0].Servers[0].Check = false
	c.Backends[0].Servers[0].Agent = &config.AgentCheck{Port: agent.port()}
	m.Update(c)
	s := m.servers[server1]
	m.checkAgentOnce(context.Background(), s)
	if got := m.Status()[server1]; got.Health != config.HealthNoLB || got.AgentWeight != 10 {
		t.Fatalf("after drain: %+v", got)
	}
	p, _ := strconv.Atoi(port)
	c.Backends[0].Servers[0].Agent.Port = p
	m.Update(c) // same address: the agent's state is kept
	s = m.servers[server1]
	m.checkAgentOnce(context.Background(), s)
	got := m.Status()[server1]
	if got.Health != config.HealthNoLB || got.AgentWeight != 10 || got.AgentResult == "" || got.AgentResult[:5] != "L4CON" {
		t.Errorf("agent unreachable: %+v, want the agent's last state kept and an L4CON result", got)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d transitions, want 1: %v", n, rec.edges())
	}
}

func TestObserveOnError(t *testing.T) {
	web := newSite(t)
	timing := config.CheckTiming{Inter: ms(2000), FastInter: ms(100), Rise: 2, Fall: 3}
	tests := []struct {
		action  config.OnError
		health  config.Health // after 3 errors
		streak  int
		thenOne config.Health // after one more failed check
	}{
		{config.OnErrorFastInter, config.HealthUp, 1, config.HealthUp},
		{config.OnErrorFailCheck, config.HealthUp, 1, config.HealthUp},
		{config.OnErrorSuddenDeath, config.HealthUp, 2, config.HealthDown},
		{config.OnErrorMarkDown, config.HealthDown, 1, config.HealthDown},
	}
	for _, tt := range tests {
		t.Run(tt.action.String(), func(t *testing.T) {
			m, _ := newMonitor(t)
			c := articleCluster(timing, web.addr())
			c.Backends[0].Servers[0].Observe = &config.Observe{Layer: config.ObserveLayer4, ErrorLimit: 3, OnError: tt.action}
			m.Update(c)
			s := m.servers[server1]
			web.deployed.Store(true)
			m.checkOnce(context.Background(), s) // up
			m.Observe(server1, false, "connection refused")
			m.Observe(server1, true, "") // a success resets the count
			for range 3 {
				m.Observe(server1, false, "connection refused")
			}
			got := m.Status()[server1]
			wantStreak := tt.streak
			if tt.action == config.OnErrorFastInter {
				wantStreak = 1 // the one good check
			}
			if got.Health != tt.health || got.ObserveErrors != 0 || s.interval() != timing.FastInter.D() {
				t.Fatalf("after 3 errors: health %v errors %d next %v, want %v 0 fastinter", got.Health, got.ObserveErrors, s.interval(), tt.health)
			}
			if tt.action != config.OnErrorMarkDown && got.Streak != wantStreak {
				t.Errorf("streak %d, want %d", got.Streak, wantStreak)
			}
			web.deployed.Store(false)
			m.checkOnce(context.Background(), s)
			if h := m.Status()[server1].Health; h != tt.thenOne {
				t.Errorf("after one failed check: %v, want %v", h, tt.thenOne)
			}
		})
	}
}

func TestObserveIgnoresServersWithoutIt(t *testing.T) {
	web := newSite(t)
	m, rec := newMonitor(t)
	m.Update(articleCluster(config.CheckTiming{Inter: ms(2000), Rise: 1, Fall: 1}, web.addr()))
	for range 20 {
		m.Observe(server1, false, "x")
	}
	if got := m.Status()[server1]; got.Health != config.HealthUnknown || rec.count() != 0 {
		t.Errorf("observe without config changed %+v", got)
	}
}

func TestReportFailureIgnoresAgentOnlyServers(t *testing.T) {
	agent := newAgentServer(t)
	agent.say("up\n")
	m, rec := newMonitor(t)
	c := articleCluster(config.CheckTiming{Inter: ms(1000), Rise: 1, Fall: 1}, agent.addr)
	c.Backends[0].Servers[0].Check = false
	c.Backends[0].Servers[0].Agent = &config.AgentCheck{Port: agent.port()}
	m.Update(c)
	m.ReportFailure(server1, nil)
	if got := m.Status()[server1]; got.Health != config.HealthUnknown || rec.count() != 0 {
		t.Errorf("a server without health checks was marked down by passive failures (no check could bring it back): %+v", got)
	}
}

package runtimeapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// memCluster is an in-memory Cluster: a View that Changes edit. It stands
// in for the agent (whose real implementation, through Raft, is tested in
// testenv/runtimeapi with two agents).
type memCluster struct {
	mu      sync.Mutex
	view    View
	changes []Change
	err     error // returned by Change when set
}

func (m *memCluster) View(context.Context, bool) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view
	v.Backends = append([]Backend(nil), v.Backends...)
	for i := range v.Backends {
		v.Backends[i].Servers = append([]ServerState(nil), v.Backends[i].Servers...)
	}
	return v, nil
}

func (m *memCluster) Change(_ context.Context, c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.changes = append(m.changes, c)
	if c.Kind == ChangeClear {
		return nil
	}
	be := m.view.backend(c.Key.Backend)
	if be == nil || be.server(c.Key.Server) == nil {
		return fmt.Errorf("server %s: %w", c.Key, ErrNoSuchServer)
	}
	s := be.server(c.Key.Server)
	switch c.Kind {
	case ChangeAdmin:
		s.Admin = c.Admin
	case ChangeWeight:
		s.Weight = c.Weight
	case ChangeAddr:
		s.Address = c.Addr
	case ChangeMaxConn:
		s.MaxConn = c.MaxConn
	case ChangeCheck:
		s.CheckPaused = !c.Check
	}
	return nil
}

func (m *memCluster) recorded() []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Change(nil), m.changes...)
}

// articleView is the article's setup: frontend http-in, backend servers
// with server1 (checked, up) and server2 (weight 5, no check).
func articleView() View {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return View{
		Node: "lb1", Version: "0.1.0", ReleaseDate: "2026/01/02", Pid: 42, Started: start, Now: start.Add(83 * time.Second),
		MaxConn: 4096, Threads: 2, Tasks: 30, MaxSock: 1024,
		Frontends: []Frontend{{Name: "http-in", Mode: config.ModeHTTP, MaxConn: 4096, Ready: true,
			Counters: balancer.Counters{CurConns: 1, TotalConns: 7, Requests: 9, BytesIn: 100, BytesOut: 2000, Responses: [6]uint64{0, 8, 0, 1, 0, 0}},
			ReqRate:  3, ConnRate: 1}},
		Backends: []Backend{{Name: "servers", Mode: config.ModeHTTP, Algo: config.AlgoRoundRobin,
			Counters: balancer.Counters{Requests: 9, Responses: [6]uint64{0, 8, 0, 1, 0, 0}},
			Servers: []ServerState{
				{Name: "server1", Address: "127.0.0.1:8001", Admin: config.AdminReady, Health: config.HealthUp, Routed: true,
					Checked: true, CheckRise: 2, CheckFall: 2, CheckResult: "L7OK 200", CheckCode: 200, CheckDuration: 3 * time.Millisecond,
					Weight: 1, InitialWeight: 1, MaxConn: 10, Counters: balancer.Counters{Requests: 5, TotalConns: 2, Responses: [6]uint64{0, 5, 0, 0, 0, 0}}, ReqRate: 2},
				{Name: "server2", Address: "127.0.0.1:8002", Admin: config.AdminReady, Health: config.HealthUnknown, Routed: true,
					CheckRise: 2, CheckFall: 3, Weight: 5, InitialWeight: 5, Counters: balancer.Counters{Requests: 4, Responses: [6]uint64{0, 3, 0, 1, 0, 0}}, ReqRate: -1},
			}}},
		Nodes: []string{"lb1"},
	}
}

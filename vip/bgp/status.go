package bgp

import (
	"context"
	"maps"
	"slices"
	"time"
)

// Status is the Speaker's view for tandem status, the dashboard and
// /metrics.
type Status struct {
	// ASN and RouterID are this node's.
	ASN      uint32
	RouterID string
	Sessions []Session
	VIPs     []VIPStatus
}

// VIPStatus is one BGP VIP as this node sees it.
type VIPStatus struct {
	Name    string
	Address string // the announced host route
	Mode    string // ecmp or primary
	// Announcing: this node announces the VIP now.
	Announcing bool
	// State is announcing, graceful-shutdown or withdrawn; Reason says why.
	State  string
	Reason string
	// Holder is the elected primary (mode primary).
	Holder string
	// Announcers are the nodes that announce the VIP, this one included
	// when it does, by name.
	Announcers []string
	// Error is the last failure to bind or announce, if any.
	Error string
}

// Status returns the last step's status.
func (s *Speaker) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.status
	out.Sessions = slices.Clone(out.Sessions)
	out.VIPs = slices.Clone(out.VIPs)
	for i := range out.VIPs {
		out.VIPs[i].Announcers = slices.Clone(out.VIPs[i].Announcers)
	}
	return out
}

// publish stores claims and status, refreshes the sessions about every
// second, signals Changed when the claims changed and wakes waiters.
func (s *Speaker) publish(now time.Time, claims map[string]Claim, ds []decision, setErr string) {
	var sessions []Session
	refresh := now.Sub(s.lastSessions) >= sessionsEvery
	if refresh {
		s.lastSessions = now
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var err error
		sessions, err = s.srv.sessions(ctx)
		cancel()
		if err != nil {
			s.log.Debug("list bgp peers", "err", err)
		}
	}
	vs := make([]VIPStatus, 0, len(ds))
	for _, d := range ds {
		st := VIPStatus{Name: d.name, Address: hostRoute(d.addr).String(), Mode: d.mode, Announcing: d.route != nil,
			State: d.state, Reason: d.reason, Holder: d.holder, Error: d.bindErr}
		if st.Error == "" {
			st.Error = setErr
		}
		st.Announcers = slices.Clone(d.others)
		if st.Announcing {
			st.Announcers = append(st.Announcers, s.cfg.Node)
			slices.Sort(st.Announcers)
		}
		vs = append(vs, st)
	}
	s.mu.Lock()
	changed := !maps.Equal(s.claims, claims)
	s.claims = claims
	s.status.ASN, s.status.RouterID, s.status.VIPs = s.cfg.ASN, s.cfg.RouterID, vs
	if refresh {
		s.status.Sessions = sessions
	}
	close(s.stepped)
	s.stepped = make(chan struct{})
	s.mu.Unlock()
	if changed {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

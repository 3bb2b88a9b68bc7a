package api

import (
	"net/http"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// UseCounters makes GET /api/v1/status?cluster=1 add the cluster's
// traffic (and ?nodes=1 each node's) to the node's status.
func (s *Server) UseCounters(c *Counters) { s.counters = c }

// clusterStatus answers GET /api/v1/status: the node's status, with the
// cluster's counters when asked and known.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.node.Status()
	q := r.URL.Query()
	if s.counters != nil && q.Get("cluster") == "1" {
		AddTraffic(&st, s.counters.Gather(r.Context(), false), q.Get("nodes") == "1")
	}
	writeJSON(w, http.StatusOK, st)
}

// AddTraffic fills st's Cluster traffic from cc (and ByNode with perNode).
func AddTraffic(st *Status, cc ClusterCounters, perNode bool) {
	st.CounterNodes = cc.NodeNames()
	if len(cc.Missing) > 0 {
		st.MissingNodes = cc.Missing
	}
	sum := cc.Sum()
	fe := map[string]balancer.Counters{}
	for _, f := range sum.Frontends {
		fe[f.Name] = f.Counters
	}
	srv := map[config.ServerKey]balancer.Counters{}
	for _, v := range sum.Servers {
		srv[v.Key] = v.Counters
	}
	for i := range st.Frontends {
		f := &st.Frontends[i]
		if c, ok := fe[f.Name]; ok {
			t := frontendTraffic(c)
			f.Cluster = &t
		}
		if perNode {
			f.ByNode = map[string]Traffic{}
			for _, n := range cc.Nodes {
				for _, x := range n.Stats.Frontends {
					if x.Name == f.Name {
						f.ByNode[n.Node] = frontendTraffic(x.Counters)
					}
				}
			}
		}
	}
	for i := range st.Servers {
		s := &st.Servers[i]
		k := config.ServerKey{Backend: s.Backend, Server: s.Server}
		if c, ok := srv[k]; ok {
			t := serverTraffic(c)
			s.Cluster = &t
		}
		if perNode {
			s.ByNode = map[string]Traffic{}
			for _, n := range cc.Nodes {
				for _, x := range n.Stats.Servers {
					if x.Key == k {
						s.ByNode[n.Node] = serverTraffic(x.Counters)
					}
				}
			}
		}
	}
}

func frontendTraffic(c balancer.Counters) Traffic {
	return Traffic{CurConns: c.CurConns, InFlight: c.InFlight, TotalConns: uint64(max(c.TotalConns, 0)), Requests: c.Requests, Errors: c.Responses[4]}
}

func serverTraffic(c balancer.Counters) Traffic {
	return Traffic{CurConns: c.CurConns, InFlight: c.InFlight, QueueLen: c.QueueLen, TotalConns: uint64(max(c.TotalConns, 0)),
		Requests: c.Requests, Errors: c.ConnectErrors + c.ResponseErrors}
}

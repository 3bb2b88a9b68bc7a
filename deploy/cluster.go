package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// nodeTimeout bounds one status call to an LB node.
const nodeTimeout = 2 * time.Second

// nodeView is one live LB node's status, or why it could not be read.
type nodeView struct {
	name   string
	status api.Status
	err    error
}

// clusterView is the cluster as seen in one poll: the status of the node
// the deploy talks to and of every live LB node.
type clusterView struct {
	main  api.Status
	nodes []nodeView // live LB nodes (voters), sorted by name
	dead  []string   // LB nodes gossip sees as not alive: skipped
}

// look reads the main node's status and every live LB node's.
func (d *Deployer) look(ctx context.Context) (clusterView, error) {
	return look(ctx, d.api, d.dial)
}

func look(ctx context.Context, api StatusReader, dial func(string) StatusReader) (clusterView, error) {
	cctx, cancel := context.WithTimeout(ctx, nodeTimeout)
	main, err := api.Status(cctx)
	cancel()
	if err != nil {
		return clusterView{}, fmt.Errorf("read cluster status: %w", err)
	}
	v := clusterView{main: main}
	if len(main.Members) == 0 {
		v.nodes = []nodeView{{name: main.Node, status: main}}
		return v, nil
	}
	for _, m := range main.Members {
		if m.Role == "witness" {
			continue
		}
		switch {
		case m.Status != "alive":
			v.dead = append(v.dead, m.Name)
		case m.Name == main.Node:
			v.nodes = append(v.nodes, nodeView{name: m.Name, status: main})
		case m.APIAddr == "":
			v.nodes = append(v.nodes, nodeView{name: m.Name, err: fmt.Errorf("%s gossips no admin API address", m.Name)})
		default:
			nctx, cancel := context.WithTimeout(ctx, nodeTimeout)
			st, err := dial(m.APIAddr).Status(nctx)
			cancel()
			v.nodes = append(v.nodes, nodeView{name: m.Name, status: st, err: err})
		}
	}
	sort.Slice(v.nodes, func(i, j int) bool { return v.nodes[i].name < v.nodes[j].name })
	sort.Strings(v.dead)
	return v, nil
}

// warnDead reports LB nodes that are skipped because they are not alive,
// once per node.
func (d *Deployer) warnDead(v clusterView) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range v.dead {
		if !d.warned[n] {
			d.warned[n] = true
			d.prog.logf("warning: LB node %s is not alive: skipped (its connections are not counted)", n)
		}
	}
}

func serverOf(st api.Status, key config.ServerKey) (api.ServerStatus, bool) {
	for _, s := range st.Servers {
		if s.Backend == key.Backend && s.Server == key.Server {
			return s, true
		}
	}
	return api.ServerStatus{}, false
}

// drained reports whether every live LB node has the server out of
// rotation (drain or maint applied) with no connection, request or queued
// request left, and a per-node detail such as "lb1=3 lb2=0 lb3=unreachable".
func drained(v clusterView, key config.ServerKey) (bool, string) {
	ok := true
	parts := make([]string, 0, len(v.nodes))
	for _, n := range v.nodes {
		if n.err != nil {
			ok = false
			parts = append(parts, n.name+"=unreachable")
			continue
		}
		s, found := serverOf(n.status, key)
		switch {
		case !found:
			ok = false
			parts = append(parts, n.name+"=unknown")
		case s.Admin == config.AdminReady:
			ok = false
			parts = append(parts, n.name+"=not-draining-yet")
		default:
			c := max(s.CurConns, s.InFlight) + s.QueueLen
			if c > 0 {
				ok = false
			}
			parts = append(parts, fmt.Sprintf("%s=%d", n.name, c))
		}
	}
	return ok, strings.Join(parts, " ")
}

// healthy reports whether a majority of the live LB nodes see the server
// up (each node's own checks; the replicated report for a node that does
// not answer) and the agreed health is not down, with a detail such as
// "lb1=up lb2=down (need 2 of 2)".
func healthy(v clusterView, key config.ServerKey) (bool, string) {
	main, _ := serverOf(v.main, key)
	up := 0
	parts := make([]string, 0, len(v.nodes)+1)
	for _, n := range v.nodes {
		h := main.Views[n.name]
		if n.err == nil {
			if s, ok := serverOf(n.status, key); ok {
				h = s.Own
			}
		}
		if h == config.HealthUp {
			up++
		}
		parts = append(parts, n.name+"="+h.String())
	}
	need := len(v.nodes)/2 + 1
	ok := up >= need && main.Agreed != config.HealthDown && main.Agreed != config.HealthNoLB
	parts = append(parts, fmt.Sprintf("(agreed %s, need %d of %d up)", main.Agreed, need, len(v.nodes)))
	return ok, strings.Join(parts, " ")
}

// inRotation reports whether a server takes new traffic cluster-wide:
// ready and agreed up (or unknown for an unchecked server).
func inRotation(v clusterView, key config.ServerKey, checked bool) bool {
	s, ok := serverOf(v.main, key)
	if !ok || s.Admin != config.AdminReady {
		return false
	}
	return s.Agreed == config.HealthUp || (!checked && s.Agreed == config.HealthUnknown)
}

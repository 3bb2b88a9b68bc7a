package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// A 2-voter cluster that loses one voter has no quorum, and Raft cannot
// add a voter without one: the configuration change itself needs a
// majority of {survivor, lost}. Waiting for the lost LB host may take
// hours, so when a witness joins in that situation the survivor forces
// the configuration {survivor, lost, witness} with Raft's RecoverCluster
// (a restart of Raft and gossip inside Run). Survivor and witness are then
// 2 of 3; the lost node stays a voter and catches up when it returns.
//
// It is safe only because every condition holds: exactly two voters; no
// leader for recoverAfter; the other voter not alive in this node's gossip
// (memberlist probes indirectly through the witness too, so a partition
// between the LB hosts that the witness bridges does not qualify); a live
// witness that is in no other cluster. The lost node, alone in its old
// configuration of two, can commit nothing meanwhile. The one cost is
// Raft's: entries appended but not committed when the peer was lost become
// committed (a change that Apply reported as "may or may not have been
// applied").
const recoverAfter = 5 * time.Second

// runRecovery watches for that situation and hands the configuration to
// serve, which restarts Raft with it.
func (n *Node) runRecovery(ctx context.Context, rt *running) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var leaderless time.Time // since when no leader is known; zero while one is
	for {
		changed := n.leaderChanged.wait()
		if _, id := rt.raft.LeaderWithID(); id != "" {
			leaderless = time.Time{}
		} else if leaderless.IsZero() {
			leaderless = time.Now()
		} else if time.Since(leaderless) >= recoverAfter {
			if conf, why, ok := n.recoveryPlan(rt); ok {
				n.logger.Warn("force the raft configuration: " + why)
				rt.recoverCh <- conf // capacity 1, sent once: serve stops the loops next
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// recoveryPlan returns the configuration to force, and why, when the
// conditions above hold.
func (n *Node) recoveryPlan(rt *running) (raft.Configuration, string, bool) {
	f := rt.raft.GetConfiguration()
	if f.Error() != nil {
		return raft.Configuration{}, "", false
	}
	var voters []raft.Server
	self := false
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, s)
			self = self || string(s.ID) == n.cfg.Node
		}
	}
	if len(voters) != 2 || !self {
		return raft.Configuration{}, "", false
	}
	lost := voters[0]
	if string(lost.ID) == n.cfg.Node {
		lost = voters[1]
	}
	if m, ok := rt.gossip.member(string(lost.ID)); ok && (m.status == StatusAlive || m.status == StatusSuspect) {
		return raft.Configuration{}, "", false
	}
	mine := n.State().ClusterID
	for _, m := range rt.gossip.members() {
		if m.status != StatusAlive || m.meta.Role != RoleWitness || m.meta.RaftPort == 0 ||
			m.meta.Cluster != "" && m.meta.Cluster != mine || m.name == string(lost.ID) || m.name == n.cfg.Node {
			continue
		}
		conf := raft.Configuration{Servers: append(voters, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(m.name), Address: raft.ServerAddress(m.raftAddr()),
		})}
		why := fmt.Sprintf("no raft leader for %v, the only other voter %s is gone and witness %s joined: "+
			"%s, %s and %s become the voters so that this node and the witness form a quorum; "+
			"changes not yet committed when %s was lost become committed",
			recoverAfter, lost.ID, m.name, n.cfg.Node, lost.ID, m.name, lost.ID)
		return conf, why, true
	}
	return raft.Configuration{}, "", false
}

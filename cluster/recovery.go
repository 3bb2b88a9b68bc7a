package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
				select {
				case rt.recoverCh <- conf: // serve stops the loops next
					n.logger.Warn("force the raft configuration: " + why)
				default: // an operator's Recover got there first
				}
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

// RecoveryPlan is a forced Raft configuration as Recover would apply it,
// with what it may cost. PlanRecovery computes it without changing
// anything, so that an operator can read it before confirming.
type RecoveryPlan struct {
	// Voters stay in the configuration: this node and the kept members.
	Voters []string `json:"voters"`
	// Dropped are the current voters that the forced configuration
	// removes.
	Dropped []string `json:"dropped"`
	// LastIndex, CommitIndex and AppliedIndex are this node's Raft log
	// positions; Version is the config version it has applied.
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Version      uint64 `json:"version"`
	// LastContact is how long ago this node last heard from a leader (0:
	// unknown).
	LastContact time.Duration `json:"last_contact"`
	// Risks says, in sentences, what may be lost.
	Risks []string `json:"risks"`
}

// PlanRecovery returns the plan for forcing the voters to this node plus
// keep (alive gossip members with a Raft address, e.g. a new witness).
// It refuses while a leader is known (the cluster has quorum: use Remove)
// and when a voter it would drop is alive (it could go on without us).
func (n *Node) PlanRecovery(ctx context.Context, keep []string) (RecoveryPlan, error) {
	rt, err := n.running(ctx)
	if err != nil {
		return RecoveryPlan{}, err
	}
	plan, _, err := n.recoveryFor(rt, keep)
	return plan, err
}

// Recover forces the configuration of PlanRecovery(keep), restarting Raft
// (inside Run) with it. expectDropped must equal the plan's Dropped: the
// operator confirmed that plan, and the cluster must not have changed
// since. Writes work again once this node (with the kept voters) has
// elected a leader.
func (n *Node) Recover(ctx context.Context, keep, expectDropped []string) (RecoveryPlan, error) {
	rt, err := n.running(ctx)
	if err != nil {
		return RecoveryPlan{}, err
	}
	plan, conf, err := n.recoveryFor(rt, keep)
	if err != nil {
		return plan, err
	}
	if !slices.Equal(plan.Dropped, sortedCopy(expectDropped)) {
		return plan, fmt.Errorf("recover: %w: the plan changed since it was confirmed: it now drops %v, not %v; review it again",
			ErrInvalidCommand, plan.Dropped, sortedCopy(expectDropped))
	}
	select {
	case rt.recoverCh <- conf:
	default:
		return plan, fmt.Errorf("recover: a recovery is already under way")
	}
	n.logger.Warn("force the raft configuration on the operator's request", "voters", plan.Voters, "dropped", plan.Dropped)
	return plan, nil
}

func (n *Node) recoveryFor(rt *running, keep []string) (RecoveryPlan, raft.Configuration, error) {
	var plan RecoveryPlan
	if _, leader := rt.raft.LeaderWithID(); leader != "" {
		return plan, raft.Configuration{}, fmt.Errorf("recover: %w: %s is the raft leader, so the cluster has quorum: "+
			"remove nodes that are gone for good with `tandem cluster remove NODE` instead", ErrInvalidCommand, leader)
	}
	f := rt.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return plan, raft.Configuration{}, fmt.Errorf("recover: read the raft configuration: %w", err)
	}
	current := map[string]raft.Server{}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			current[string(s.ID)] = s
		}
	}
	self := raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.Node), Address: rt.transport.LocalAddr()}
	if s, ok := current[n.cfg.Node]; ok {
		self = s
	}
	conf := raft.Configuration{Servers: []raft.Server{self}}
	kept := map[string]bool{n.cfg.Node: true}
	for _, name := range keep {
		if kept[name] {
			continue
		}
		m, ok := rt.gossip.member(name)
		if !ok || m.status != StatusAlive || m.meta.RaftPort == 0 {
			return plan, raft.Configuration{}, fmt.Errorf("recover: %w: keep %s: not an alive member with a raft address in this node's gossip view",
				ErrInvalidCommand, name)
		}
		kept[name] = true
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(name), Address: raft.ServerAddress(m.raftAddr())})
	}
	for name := range current {
		if kept[name] {
			continue
		}
		if m, ok := rt.gossip.member(name); ok && (m.status == StatusAlive || m.status == StatusSuspect) {
			return plan, raft.Configuration{}, fmt.Errorf("recover: %w: voter %s is alive in gossip: dropping it could leave two clusters "+
				"that both accept writes; keep it (--keep %s) or stop it first", ErrInvalidCommand, name, name)
		}
		plan.Dropped = append(plan.Dropped, name)
	}
	if len(plan.Dropped) == 0 {
		return plan, raft.Configuration{}, fmt.Errorf("recover: %w: no voter would be dropped: nothing to recover", ErrInvalidCommand)
	}
	for name := range kept {
		plan.Voters = append(plan.Voters, name)
	}
	slices.Sort(plan.Voters)
	slices.Sort(plan.Dropped)
	rs := n.Raft()
	plan.LastIndex = rt.raft.LastIndex()
	plan.CommitIndex, plan.AppliedIndex, plan.LastContact = rs.CommitIndex, rs.AppliedIndex, rs.LastContact
	plan.Version = n.State().Version
	plan.Risks = []string{
		fmt.Sprintf("changes that %s committed without this node are lost: this node has applied config version %d (raft index %d)",
			strings.Join(plan.Dropped, ", "), plan.Version, plan.AppliedIndex),
		fmt.Sprintf("entries this node holds but that were never committed become committed (log index %d, commit index %d)",
			plan.LastIndex, plan.CommitIndex),
		fmt.Sprintf("if %s is in fact running behind a partition, it must stay stopped: when it comes back, wipe its data dir and join it again",
			strings.Join(plan.Dropped, ", ")),
	}
	return plan, conf, nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

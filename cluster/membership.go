package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// leaveGrace is how long the leader does not re-add a node that asked to
// leave while gossip may still show it alive.
const leaveGrace = time.Minute

// Join joins the gossip of existing members at addrs ("host" or
// "host:port"). Joining members already known is harmless. The leader then
// makes this node a Raft voter.
func (n *Node) Join(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("join: no address given")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rt, err := n.running(ctx)
	if err != nil {
		return err
	}
	return n.join(rt, addrs)
}

func (n *Node) join(rt *running, addrs []string) error {
	num, err := rt.gossip.ml.Join(addrs)
	if num > 0 {
		return n.checkSameCluster(rt, addrs)
	}
	if err == nil {
		err = errors.New("no member answered")
	}
	return fmt.Errorf("join %s: %v — check the address and gossip port, that the peer runs, and that cluster_key is the same on every node",
		strings.Join(addrs, ", "), strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
}

// checkSameCluster reports members that gossip a cluster ID other than
// this node's: two clusters that were each bootstrapped on their own.
func (n *Node) checkSameCluster(rt *running, addrs []string) error {
	mine := n.State().ClusterID
	if mine == "" {
		return nil
	}
	for _, m := range rt.gossip.members() {
		if m.status == StatusAlive && m.meta.Cluster != "" && m.meta.Cluster != mine {
			return fmt.Errorf("join %s: member %s belongs to another cluster (%s, this node is in %s): a node started without --join "+
				"bootstraps a cluster of its own; stop the node that should join, empty its data_dir and start it with --join",
				strings.Join(addrs, ", "), m.name, m.meta.Cluster, mine)
		}
	}
	return nil
}

// Leave leaves the cluster gracefully: hands the leadership over if this
// node leads, announces the departure in gossip and asks the leader to
// remove it from Raft. Stop the node (cancel Run's ctx) afterwards.
func (n *Node) Leave(ctx context.Context) error {
	rt, err := n.running(ctx)
	if err != nil {
		return err
	}
	if rt.raft.State() == raft.Leader && n.Raft().Voters > 1 {
		if err := rt.raft.LeadershipTransfer().Error(); err != nil {
			return fmt.Errorf("leave: hand over the leadership: %w", err)
		}
	}
	if err := rt.gossip.leave(2 * time.Second); err != nil {
		return fmt.Errorf("leave: announce in gossip: %w", err)
	}
	return n.admin(ctx, rt, adminRequest{Op: "leave", Node: n.cfg.Node})
}

// Remove removes a node that is gone for good from Raft, from the
// replicated node list and from the gossip view. The node must not be
// alive (run leave on it instead).
func (n *Node) Remove(ctx context.Context, node string) error {
	rt, err := n.running(ctx)
	if err != nil {
		return err
	}
	if node == n.cfg.Node {
		return fmt.Errorf("remove %s: that is this node: use leave", node)
	}
	if m, ok := rt.gossip.member(node); ok && m.status == StatusAlive {
		return fmt.Errorf("remove %s: the node is alive in gossip: stop it first, or run leave on it", node)
	}
	return n.admin(ctx, rt, adminRequest{Op: "remove", Node: node})
}

// admin runs a membership request on the leader, forwarding it if needed.
func (n *Node) admin(ctx context.Context, rt *running, req adminRequest) error {
	return n.leaderDo(ctx, rt, func(addr string, self bool) error {
		if self {
			return n.adminLocal(rt, req)
		}
		var resp adminResponse
		if err := n.roundTrip(ctx, rt, addr, connAdmin, req, &resp); err != nil {
			return err
		}
		return resp.Err.err()
	})
}

// adminLocal runs a membership request on the leader.
func (n *Node) adminLocal(rt *running, req adminRequest) error {
	if rt.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	switch req.Op {
	case "leave":
		rt.markLeaving(req.Node)
	case "remove":
		if m, ok := rt.gossip.member(req.Node); ok && m.status == StatusAlive {
			return fmt.Errorf("remove %s: the node is alive in gossip: stop it first, or run leave on it", req.Node)
		}
	default:
		return fmt.Errorf("%w: unknown membership request %q", ErrInvalidCommand, req.Op)
	}
	f := rt.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	voters, member := 0, false
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		member = member || string(s.ID) == req.Node
	}
	if member && voters == 1 {
		return fmt.Errorf("%s %s: it is the only Raft voter; the cluster would have none", req.Op, req.Node)
	}
	if _, err := n.applyLocal(rt, RemoveNode{Node: req.Node, Time: time.Now().UTC()}); err != nil {
		return err
	}
	if member {
		n.logger.Info("remove raft voter", "member", req.Node, "reason", req.Op)
		if err := rt.raft.RemoveServer(raft.ServerID(req.Node), 0, 0).Error(); err != nil {
			if errors.Is(err, raft.ErrNotLeader) {
				return ErrNotLeader
			}
			return fmt.Errorf("remove %s from raft: %w", req.Node, err)
		}
	}
	rt.gossip.forget(req.Node)
	return nil
}

func (rt *running) markLeaving(node string) {
	rt.leavingMu.Lock()
	defer rt.leavingMu.Unlock()
	if rt.leaving == nil {
		rt.leaving = map[string]time.Time{}
	}
	rt.leaving[node] = time.Now()
}

func (rt *running) isLeaving(node string) bool {
	rt.leavingMu.Lock()
	defer rt.leavingMu.Unlock()
	t, ok := rt.leaving[node]
	return ok && time.Since(t) < leaveGrace
}

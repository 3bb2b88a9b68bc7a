package cluster

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// rejoinInterval is how often a node tries to reach the members it holds
// dead (failed, not left). memberlist stops gossiping to a dead member
// after GossipToTheDeadTime and never probes it again, so without this two
// sides of a partition longer than that would stay apart after it heals
// (Serf's reconnect does the same for the same reason).
const rejoinInterval = 10 * time.Second

// runRejoin tries, every rejoinInterval (with jitter), to join the members
// this node's view holds dead. A member that left (a planned stop or a
// removal) is not tried; a dead one that is really gone costs one failed
// connection attempt per interval, logged at debug. When the partition
// heals the join's state exchange shows each side alive to the other
// (memberlist's refutation raises the incarnation), and gossip converges.
func (n *Node) runRejoin(ctx context.Context, rt *running) {
	for {
		wait := rejoinInterval/2 + rand.N(rejoinInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		addrs := n.deadPeerAddrs(rt)
		if len(addrs) == 0 {
			continue
		}
		num, err := rt.gossip.ml.Join(addrs)
		switch {
		case num > 0:
			n.logger.Info("rejoined members held dead", "addrs", addrs, "answered", num)
		case err != nil:
			n.logger.Debug("rejoin members held dead", "addrs", addrs, "err", err)
		}
	}
}

// deadPeerAddrs returns the gossip addresses of the members held dead
// (failed, not left).
func (n *Node) deadPeerAddrs(rt *running) []string {
	var out []string
	for _, m := range rt.gossip.members() {
		if m.name != n.cfg.Node && m.status == StatusDead && m.addr != nil {
			out = append(out, net.JoinHostPort(m.addr.String(), strconv.Itoa(int(m.port))))
		}
	}
	return out
}

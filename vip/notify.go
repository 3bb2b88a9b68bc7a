package vip

import (
	"context"
	"os"
	"time"
)

// notifyTimeout bounds one run of the notify command.
const notifyTimeout = 10 * time.Second

// notifyQueueLen bounds pending notifications; past it they are dropped
// (and logged) rather than stalling the reconcile loop.
const notifyQueueLen = 64

// notification is one VIP state transition of this node.
type notification struct {
	vip, address, node string
	state              State
}

// notifyEnv is the environment of the notify command: the agent's own plus
// TANDEM_VIP, TANDEM_VIP_ADDRESS, TANDEM_VIP_STATE (holder, backup, fault)
// and TANDEM_NODE.
func notifyEnv(base []string, n notification) []string {
	env := append([]string(nil), base...)
	return append(env,
		"TANDEM_VIP="+n.vip,
		"TANDEM_VIP_ADDRESS="+n.address,
		"TANDEM_VIP_STATE="+n.state.String(),
		"TANDEM_NODE="+n.node,
	)
}

// enqueueNotify hands a transition to the notifier without blocking.
func (m *Manager) enqueueNotify(n notification) {
	if m.cfg.NotifyCommand == "" || m.notifyq == nil {
		return
	}
	select {
	case m.notifyq <- n:
	default:
		m.log.Warn("notify queue full: dropping notification", "vip", n.vip, "state", n.state.String())
	}
}

// runNotifier runs the notify command for each queued transition, in
// order, until q is closed; ctx bounds each run (and ends the backlog).
func (m *Manager) runNotifier(ctx context.Context, q <-chan notification) {
	for n := range q {
		if ctx.Err() != nil {
			continue
		}
		m.notifyOnce(ctx, n)
	}
}

func (m *Manager) notifyOnce(ctx context.Context, n notification) {
	out, err := runShell(ctx, m.cfg.NotifyCommand, notifyEnv(os.Environ(), n), notifyTimeout)
	if err != nil {
		m.log.Warn("notify command failed", "vip", n.vip, "state", n.state.String(), "err", err, "output", truncate(out, 1024))
		return
	}
	m.log.Info("notify command ran", "vip", n.vip, "state", n.state.String(), "output", truncate(out, 1024))
}

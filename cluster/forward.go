package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

const (
	// leaderWait bounds how long Apply looks for a leader before it
	// reports ErrNoQuorum (twice that while gossip shows a majority of
	// voters alive, i.e. an election is probably under way).
	leaderWait = 3 * time.Second
	// forwardTimeout bounds one forwarded request once it was sent.
	forwardTimeout = 10 * time.Second
	// catchUpTimeout bounds waiting for this node to apply a command the
	// leader committed.
	catchUpTimeout = 5 * time.Second
	dialTimeout    = 2 * time.Second
)

var errNotRunning = errors.New("cluster: this node is not running")

// transientError marks a failure to reach the leader: the request was not
// taken, so it is safe to try again (possibly with another leader).
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var te transientError
	return errors.Is(err, ErrNotLeader) || errors.As(err, &te)
}

// Apply submits cmd on any node: the leader applies it, a follower
// forwards it to the leader over the Raft port and then waits until it has
// applied it too. It returns the state right after the command (on a
// follower: this node's state once it applied the command), a business
// rejection (*ConflictError, ErrUnknownVersion, ErrUnknownServer, ...), or,
// when no leader answers within ~3 s or ctx, a *NoQuorumError (errors.Is
// ErrNoQuorum). An ApplyConfig's config is validated first.
func (n *Node) Apply(ctx context.Context, cmd Command) (*State, error) {
	if ac, ok := cmd.(ApplyConfig); ok && ac.Config != nil {
		if err := ac.Config.Validate(); err != nil {
			return nil, err
		}
	}
	data, err := encodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	rt, err := n.running(ctx)
	if err != nil {
		return nil, err
	}
	var st *State
	err = n.leaderDo(ctx, rt, func(addr string, self bool) (err error) {
		if self {
			st, _, err = n.applyData(rt, data)
			return err
		}
		st, err = n.forwardApply(ctx, rt, addr, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// leaderDo calls fn with the current leader until fn returns something
// other than a retryable error. With no leader (or only failing ones) for
// leaderWait, or when ctx ends, it returns a *NoQuorumError.
func (n *Node) leaderDo(ctx context.Context, rt *running, fn func(addr string, self bool) error) error {
	deadline := time.Now().Add(leaderWait)
	extended := false
	var lastErr error
	for {
		changed := n.leaderChanged.wait() // before reading the leader, so no change is missed
		addr, id := rt.raft.LeaderWithID()
		retry := (<-chan time.Time)(nil)
		if id != "" {
			err := fn(string(addr), string(id) == n.cfg.Node)
			if !retryable(err) {
				return err
			}
			lastErr = err
			retry = time.After(100 * time.Millisecond)
		}
		remaining := time.Until(deadline)
		if remaining <= 0 && !extended {
			// A majority alive in gossip but no leader yet: most likely an
			// election after the leader was lost (1–2 s to notice, then a
			// vote). Give it one more period before reporting no quorum.
			if alive, voters := n.votersAlive(rt); 2*alive > voters {
				extended, deadline = true, deadline.Add(leaderWait)
				remaining = time.Until(deadline)
			}
		}
		if remaining <= 0 {
			return n.noQuorum(rt, lastErr)
		}
		select {
		case <-ctx.Done():
			return n.noQuorum(rt, ctx.Err())
		case <-changed:
		case <-retry:
		case <-time.After(remaining):
		}
	}
}

// noQuorum builds the error Apply returns when no leader answers.
func (n *Node) noQuorum(rt *running, cause error) error {
	e := &NoQuorumError{Version: n.State().Version}
	e.Alive, e.Voters = n.votersAlive(rt)
	var gq errGossipQuorum
	if cause != nil && !errors.Is(cause, ErrNotLeader) && !errors.As(cause, &gq) {
		e.Detail = "last attempt: " + cause.Error()
	}
	return e
}

// votersAlive counts the Raft voters alive in this node's gossip view
// (itself included) and all voters.
func (n *Node) votersAlive(rt *running) (alive, voters int) {
	f := rt.raft.GetConfiguration()
	if f.Error() != nil {
		return 0, 0
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if m, ok := rt.gossip.member(string(s.ID)); string(s.ID) == n.cfg.Node || ok && (m.status == StatusAlive || m.status == StatusSuspect) {
			alive++
		}
	}
	return alive, voters
}

// errGossipQuorum: the leader sees fewer than a majority of voters alive
// in gossip. It refuses the write rather than append an entry that could
// neither commit now nor be withdrawn (it would commit later, when the
// peers return, surprising whoever was told it failed).
type errGossipQuorum struct{ alive, voters int }

func (e errGossipQuorum) Error() string {
	return fmt.Sprintf("only %d of %d voters alive in gossip", e.alive, e.voters)
}

// applyData applies an encoded command on this node, which must be the
// leader. It returns the state after the command and its log index.
func (n *Node) applyData(rt *running, data []byte) (*State, uint64, error) {
	if alive, voters := n.votersAlive(rt); 2*alive <= voters {
		return nil, 0, transientError{errGossipQuorum{alive, voters}}
	}
	f := rt.raft.Apply(data, forwardTimeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return nil, 0, ErrNotLeader
		case errors.Is(err, raft.ErrLeadershipLost):
			e := n.noQuorum(rt, nil).(*NoQuorumError)
			e.Detail = "this node lost the leadership while applying: the change may or may not have been applied; check the version before retrying"
			return nil, 0, e
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, 0, errNotRunning
		default:
			return nil, 0, fmt.Errorf("raft apply: %w", err)
		}
	}
	res := f.Response().(applyResult)
	return res.state, f.Index(), res.err
}

// applyLocal applies cmd on this node, which must be the leader.
func (n *Node) applyLocal(rt *running, cmd Command) (*State, error) {
	data, err := encodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	st, _, err := n.applyData(rt, data)
	return st, err
}

type forwardRequest struct {
	Data []byte `json:"data"` // encoded command
}

type forwardResponse struct {
	Index uint64     `json:"index,omitempty"`
	Err   *wireError `json:"err,omitempty"`
}

type adminRequest struct {
	Op   string `json:"op"` // "leave" (the node itself) or "remove" (an operator)
	Node string `json:"node"`
}

type adminResponse struct {
	Err *wireError `json:"err,omitempty"`
}

// forwardApply sends data to the leader and waits until this node applied it.
func (n *Node) forwardApply(ctx context.Context, rt *running, leader string, data []byte) (*State, error) {
	var resp forwardResponse
	if err := n.roundTrip(ctx, rt, leader, connForward, forwardRequest{Data: data}, &resp); err != nil {
		return nil, err
	}
	if err := resp.Err.err(); err != nil {
		return nil, err
	}
	return n.waitApplied(ctx, resp.Index)
}

// roundTrip sends one request frame of kind to the leader and reads the
// response. A failure before the request was written is transient.
func (n *Node) roundTrip(ctx context.Context, rt *running, leader string, kind byte, req, resp any) error {
	conn, err := rt.mux.dial(leader, kind, dialTimeout)
	if err != nil {
		return transientError{fmt.Errorf("reach the leader at %s: %w", leader, err)}
	}
	defer conn.Close()
	deadline := time.Now().Add(forwardTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	if err := writeFrame(conn, req); err != nil {
		return transientError{fmt.Errorf("send to the leader at %s: %w", leader, err)}
	}
	if err := readFrame(conn, resp); err != nil {
		return fmt.Errorf("read the leader's answer from %s: %w; the change may or may not have been applied", leader, err)
	}
	return nil
}

// waitApplied waits until this node's FSM reached index.
func (n *Node) waitApplied(ctx context.Context, index uint64) (*State, error) {
	timeout := time.After(catchUpTimeout)
	for {
		changed := n.applied.wait()
		if s := n.fsm.current(); s.Index >= index {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for this node to apply index %d (committed by the leader): %w", index, ctx.Err())
		case <-timeout:
			return nil, fmt.Errorf("the leader committed the change at index %d but this node has not applied it within %v", index, catchUpTimeout)
		}
	}
}

// serveConn serves one forwarded request on the leader.
func (n *Node) serveConn(rt *running, kind byte, conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(forwardTimeout))
	switch kind {
	case connForward:
		var req forwardRequest
		if err := readFrame(conn, &req); err != nil {
			return
		}
		var resp forwardResponse
		if _, err := decodeCommand(req.Data); err != nil {
			// Never append what the FSM would panic on.
			resp.Err = toWire(fmt.Errorf("%w: %v", ErrInvalidCommand, err))
		} else if rt.raft.State() != raft.Leader {
			resp.Err = toWire(ErrNotLeader)
		} else {
			_, idx, err := n.applyData(rt, req.Data)
			var gq errGossipQuorum
			if errors.As(err, &gq) {
				err = n.noQuorum(rt, nil)
			}
			resp.Index, resp.Err = idx, toWire(err)
		}
		writeFrame(conn, resp)
	case connAdmin:
		var req adminRequest
		if err := readFrame(conn, &req); err != nil {
			return
		}
		writeFrame(conn, adminResponse{Err: toWire(n.adminLocal(rt, req))})
	}
}

package cluster

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNoQuorum: no Raft leader could be reached, so nothing can be
	// written. Traffic keeps flowing on the last committed config.
	ErrNoQuorum = errors.New("no quorum")
	// ErrNotLeader: a leader-only operation reached a node that is not the
	// leader. Apply retries it internally; callers rarely see it.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrUnknownVersion: a rollback named a version the history does not hold.
	ErrUnknownVersion = errors.New("unknown config version")
	// ErrUnknownServer: a command named a backend/server the config does not have.
	ErrUnknownServer = errors.New("unknown server")
	// ErrNoConfig: a command needs a config and none has been applied yet.
	ErrNoConfig = errors.New("no config applied yet")
	// ErrInvalidCommand: a command is malformed (nil config, weight out of range, ...).
	ErrInvalidCommand = errors.New("invalid command")
	// ErrDeployRunning: a DeployProgress of one run reached a backend whose
	// recorded deploy is another run, not finished. The FSM refuses it, so
	// that two deploy clients racing to start cannot both proceed.
	ErrDeployRunning = errors.New("another deploy of the backend is running")
)

// ConflictError rejects ApplyConfig or Rollback whose Expected version is
// not the current one: someone else changed the config in between.
type ConflictError struct {
	Expected uint64 // the version the caller based its change on
	Current  uint64 // the version the cluster is at
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("config version conflict: the change was based on version %d but the cluster is at version %d; "+
		"someone else applied a change: review it (config diff) and apply again against version %d",
		e.Expected, e.Current, e.Current)
}

// NoQuorumError is what Apply returns when no leader answers; it wraps
// ErrNoQuorum.
type NoQuorumError struct {
	Alive   int    // configured voters alive in this node's gossip view (itself included)
	Voters  int    // voters in the Raft configuration
	Version uint64 // config version traffic keeps flowing on
	Detail  string // optional: what happened (e.g. "leadership lost while applying")
}

func (e *NoQuorumError) Error() string {
	msg := fmt.Sprintf("no quorum: %d of %d Raft voters answer (alive in gossip / configured voters), a majority (%d) is needed to write",
		e.Alive, e.Voters, e.Voters/2+1)
	if e.Detail != "" {
		msg += "; " + e.Detail
	}
	msg += fmt.Sprintf("; traffic continues on config version %d", e.Version)
	if e.Voters == 2 {
		// recovery.go: a witness joined to the survivor restores writes.
		return msg + "; bring the missing peer back, or add a witness node (role witness, joined to this one), to restore writes"
	}
	return msg + "; bring the missing voters back to restore writes"
}

func (e *NoQuorumError) Unwrap() error { return ErrNoQuorum }

// remoteError carries an error across the forwarding connection while
// keeping errors.Is working against the sentinel it wrapped on the leader.
type remoteError struct {
	msg    string
	target error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.target }

// wireError is the JSON form of an error on the forwarding connection.
type wireError struct {
	Code     string `json:"code"`
	Msg      string `json:"msg"`
	Expected uint64 `json:"expected,omitempty"`
	Current  uint64 `json:"current,omitempty"`
	Alive    int    `json:"alive,omitempty"`
	Voters   int    `json:"voters,omitempty"`
}

var wireSentinels = []struct {
	code string
	err  error
}{
	{"no_quorum", ErrNoQuorum},
	{"not_leader", ErrNotLeader},
	{"unknown_version", ErrUnknownVersion},
	{"unknown_server", ErrUnknownServer},
	{"no_config", ErrNoConfig},
	{"invalid", ErrInvalidCommand},
	{"deploy_running", ErrDeployRunning},
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	var ce *ConflictError
	if errors.As(err, &ce) {
		return &wireError{Code: "conflict", Msg: err.Error(), Expected: ce.Expected, Current: ce.Current}
	}
	var nq *NoQuorumError
	if errors.As(err, &nq) {
		return &wireError{Code: "no_quorum_detail", Msg: nq.Detail, Alive: nq.Alive, Voters: nq.Voters, Current: nq.Version}
	}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			return &wireError{Code: s.code, Msg: err.Error()}
		}
	}
	return &wireError{Code: "other", Msg: err.Error()}
}

func (w *wireError) err() error {
	if w == nil {
		return nil
	}
	switch w.Code {
	case "conflict":
		return &ConflictError{Expected: w.Expected, Current: w.Current}
	case "no_quorum_detail":
		return &NoQuorumError{Alive: w.Alive, Voters: w.Voters, Version: w.Current, Detail: w.Msg}
	}
	for _, s := range wireSentinels {
		if w.Code == s.code {
			return &remoteError{msg: w.Msg, target: s.err}
		}
	}
	return errors.New(w.Msg)
}

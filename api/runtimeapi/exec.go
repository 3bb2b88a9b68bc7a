package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// permissionDenied is HAProxy's answer to a command above the session's level.
const permissionDenied = "Permission denied\n"

// session is one connection's state: its level (lowered by "operator" and
// "user"), the socket's own level (which decides what "show stat"
// reveals), prompt mode, idle timeout and whether it asked to quit.
type session struct {
	cluster     Cluster
	level       Level
	socketLevel Level
	prompt      bool
	timeout     time.Duration
	quit        bool
}

// execute runs one command and returns its answer (without the framing:
// the empty line or the prompt that follows it).
func (s *session) execute(ctx context.Context, cmd Command) string {
	if need := cmd.Need(); need > s.level {
		return permissionDenied
	}
	switch c := cmd.(type) {
	case Unknown:
		return usage(c.Args, false)
	case Help:
		return usage(c.Args, true)
	case Prompt:
		s.prompt = !s.prompt
	case Quit:
		s.quit = true
	case SetTimeout:
		s.timeout = c.Timeout
	case SetLevel:
		s.level = c.To
	case ShowCLILevel:
		return s.level.String() + "\n"
	case Malformed:
		return c.Reply
	case ShowVersion, ShowInfo, ShowStat, ShowServersState, ShowBackend:
		return s.show(ctx, cmd)
	default:
		return s.change(ctx, cmd)
	}
	return ""
}

// show answers the read-only commands that need the cluster's view.
func (s *session) show(ctx context.Context, cmd Command) string {
	_, counters := cmd.(ShowStat)
	if _, ok := cmd.(ShowInfo); ok {
		counters = true
	}
	v, err := s.cluster.View(ctx, counters)
	if err != nil {
		return fmt.Sprintf("Cannot read the cluster state: %v.\n", err)
	}
	switch c := cmd.(type) {
	case ShowVersion:
		return v.Version + "\n"
	case ShowInfo:
		return renderInfo(&v, c.Typed)
	case ShowStat:
		return renderStat(&v, c, s.socketLevel >= LevelOperator)
	case ShowServersState:
		return renderServersState(&v, c.Backend)
	case ShowBackend:
		return renderBackends(&v)
	}
	return ""
}

// change answers the commands that act on a server or the counters: it
// finds the server, validates the arguments against it, in HAProxy's
// order, and hands the Change to the cluster.
func (s *session) change(ctx context.Context, cmd Command) string {
	if c, ok := cmd.(ClearCounters); ok {
		if !c.All {
			return "" // tandem keeps no max counters: nothing to clear
		}
		return s.apply(ctx, Change{Kind: ChangeClear, All: true}, "")
	}
	var target string
	switch c := cmd.(type) {
	case SetServer:
		target = c.Target
	case SetWeight:
		target = c.Target
	case GetWeight:
		target = c.Target
	case SetMaxConn:
		target = c.Target
	case SetHealth:
		target = c.Target
	case SetEnabled:
		target = c.Target
	default:
		return fmt.Sprintf("Internal error: command %T.\n", cmd)
	}
	v, err := s.cluster.View(ctx, false)
	if err != nil {
		return fmt.Sprintf("Cannot read the cluster state: %v.\n", err)
	}
	be, srv, reply := findServer(&v, target, cmd)
	if reply != "" {
		return reply
	}
	key := config.ServerKey{Backend: be.Name, Server: srv.Name}
	switch c := cmd.(type) {
	case GetWeight:
		return fmt.Sprintf("%d (initial %d)\n", srv.Weight, srv.InitialWeight)
	case SetWeight:
		return s.weight(ctx, key, be, srv, c.Weight)
	case SetMaxConn:
		n, msg := parseMaxConn(c.Value)
		if msg != "" {
			return msg
		}
		return s.apply(ctx, Change{Kind: ChangeMaxConn, Key: key, MaxConn: n}, "")
	case SetHealth:
		if c.Enable && !srv.Checked {
			return "Health check was not configured on this server, cannot enable.\n"
		}
		return s.apply(ctx, Change{Kind: ChangeCheck, Key: key, Check: c.Enable}, "")
	case SetEnabled:
		admin := config.AdminMaint
		if c.Enable {
			admin = config.AdminReady
		}
		return s.apply(ctx, Change{Kind: ChangeAdmin, Key: key, Admin: admin}, "")
	case SetServer:
		return s.setServer(ctx, key, be, srv, c)
	}
	return ""
}

// findServer resolves "backend/server" with HAProxy's answers
// (cli_find_server; get weight only requires the server part).
func findServer(v *View, target string, cmd Command) (*Backend, *ServerState, string) {
	bname, sname, ok := splitTarget(target)
	if _, get := cmd.(GetWeight); get && !ok {
		bname, sname, _ = cutTarget(target)
		ok = sname != ""
	}
	if !ok {
		return nil, nil, "Require 'backend/server'.\n"
	}
	be := v.backend(bname)
	if be == nil {
		return nil, nil, "No such backend.\n"
	}
	srv := be.server(sname)
	if srv == nil {
		return nil, nil, "No such server.\n"
	}
	return be, srv, ""
}

func cutTarget(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (s *session) weight(ctx context.Context, key config.ServerKey, be *Backend, srv *ServerState, w string) string {
	n, msg := parseWeight(w, srv.InitialWeight, be.dynamic())
	if msg != "" {
		return msg
	}
	return s.apply(ctx, Change{Kind: ChangeWeight, Key: key, Weight: n}, "")
}

// setServer is cli_parse_set_server for the fields tandem has; the others
// get HAProxy's answer where it is true of tandem (no agent checks, no
// resolvers) or say what tandem does instead.
func (s *session) setServer(ctx context.Context, key config.ServerKey, be *Backend, srv *ServerState, c SetServer) string {
	a0 := arg(c.Args, 0)
	switch c.Field {
	case "weight":
		return s.weight(ctx, key, be, srv, a0)
	case "state":
		admin, err := config.ParseAdminState(a0)
		if err != nil || a0 == "" {
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
		}
		return s.apply(ctx, Change{Kind: ChangeAdmin, Key: key, Admin: admin}, "")
	case "addr":
		if a0 == "" {
			return "set server <b>/<s> addr requires an address and optionally a port.\n"
		}
		hasPort := arg(c.Args, 1) == "port"
		next, changed, report := addrChange(srv.Address, a0, hasPort, arg(c.Args, 2))
		if !changed {
			return report
		}
		return s.apply(ctx, Change{Kind: ChangeAddr, Key: key, Addr: next}, report)
	case "health":
		return "'set server <srv> health' is not supported by tandem: health is what the nodes' checks agree on; use 'set server <srv> state' or 'disable health'.\n"
	case "agent", "agent-send":
		return "agent checks are not enabled on this server.\n"
	case "agent-addr":
		if a0 == "" {
			return "set server <b>/<s> agent-addr requires an address and optionally a port.\n"
		}
		return "agent checks are not enabled on this server.\n"
	case "agent-port":
		if a0 == "" {
			return "set server <b>/<s> agent-port requires a port.\n"
		}
		return "agent checks are not enabled on this server.\n"
	case "check-addr", "check-port":
		return "'set server <srv> " + c.Field + "' is not supported by tandem: a server is checked at its own address.\n"
	case "fqdn":
		if a0 == "" {
			return "set server <b>/<s> fqdn requires a FQDN.\n"
		}
		return "set server <b>/<s> fqdn failed because no resolution is configured.\n"
	case "ssl":
		return "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n"
	}
	return "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"
}

// apply hands ch to the cluster; ok is the answer on success.
func (s *session) apply(ctx context.Context, ch Change, ok string) string {
	err := s.cluster.Change(ctx, ch)
	switch {
	case err == nil:
		return ok
	case errors.Is(err, ErrNoSuchServer):
		return "No such server.\n"
	case errors.Is(err, ErrNoQuorum):
		return "No quorum: the change was not applied (traffic continues on the last committed config).\n"
	}
	return fmt.Sprintf("Change not applied: %v.\n", err)
}

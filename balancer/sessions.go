package balancer

import (
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Health actions on server connections (HAProxy's on-marked-down
// shutdown-sessions and on-marked-up shutdown-backup-sessions) and the
// verdicts live traffic gives observe.

// setServerState applies a runtime state to s (server.setState) and runs
// the actions its health change calls for.
func (b *Balancer) setServerState(s *server, st ServerState, cfgWeight int, now time.Time, fresh bool) bool {
	before := config.Health(s.health.Load())
	changed := s.setState(st, cfgWeight, now, fresh)
	if fresh || before == st.Health {
		return changed
	}
	o := s.opts.Load()
	if o == nil {
		return changed
	}
	switch {
	case st.Health == config.HealthDown && o.shutdownOnDown:
		n := b.shutdownSessions(func(u *server) bool { return u == s })
		b.log.Info("server down: its connections shut down (on-marked-down shutdown-sessions)", "server", s.key, "connections", n)
	case st.Health == config.HealthUp && o.shutdownBackupsOnUp && !o.backup && s.weight.Load() > 0:
		n := b.shutdownSessions(func(u *server) bool {
			uo := u.opts.Load()
			return u.be == s.be && uo != nil && uo.backup
		})
		b.log.Info("server up: backup servers' connections shut down (on-marked-up shutdown-backup-sessions)", "server", s.key, "connections", n)
	}
	return changed
}

// shutdownSessions closes the client connections whose server connection
// goes to a server that match accepts (HTTP/1 requests in progress and TCP
// connections; HTTP/2 streams are left to finish), and returns how many.
func (b *Balancer) shutdownSessions(match func(*server) bool) int {
	n := 0
	for _, cc := range b.conns.list() {
		if u := cc.up.Load(); u != nil && match(u.srv) {
			cc.forceClose()
			n++
		}
	}
	return n
}

// observeStatus reports an HTTP response's status to observe layer7
// (100-499, 501 and 505 are successes, as HAProxy counts them). The
// response path calls it where it has the server's status.
func (s *server) observeStatus(code int) {
	if o := s.opts.Load(); o != nil && o.observe != nil && o.layer7 {
		o.observe(config.ObservedStatusOK(code), "HTTP "+strconv.Itoa(code))
	}
}

// observeResponseError reports a server that timed out or answered
// something that is not HTTP to observe layer7.
func (s *server) observeResponseError(what string) {
	if o := s.opts.Load(); o != nil && o.observe != nil && o.layer7 {
		o.observe(false, what)
	}
}

// shortError is a connection error as an operator reads it.
func shortError(err error) string {
	if err == nil {
		return "connection failure"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

package health

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// spec is everything needed to check one server, derived from the resolved
// config. A changed spec restarts the server's checker.
type spec struct {
	addr string // host:port
	fp   string // fingerprint of every setting that shapes the checks
	// rs is the health check; nil: the server is not checked (agent only).
	rs     *ruleset
	tg     target
	timing config.CheckTiming
	lim    limits
	// broken says why the check cannot run (a CA file that does not
	// load): every check fails with it.
	broken string
	// agent is the agent check; nil: none.
	agent      *ruleset
	agentTg    target
	agentInter time.Duration
	observe    *config.Observe
}

// newSpec derives a server's checks from its resolved backend (every
// default concrete, see config.Resolve: nothing is re-defaulted here).
func newSpec(b *config.Backend, s *config.Server) spec {
	sp := spec{
		addr:   s.Address,
		timing: s.CheckTiming,
		lim:    limits{inter: s.Inter.D(), connect: b.Timeouts.Connect.D(), check: b.Timeouts.Check.D()},
		fp:     fingerprint(b, s),
	}
	tg, err := newTarget(b, s)
	if err != nil {
		sp.broken = err.Error()
	}
	sp.tg = tg
	if s.Check {
		rs, err := newRuleset(b.HealthCheck, s.Address)
		if err != nil {
			sp.broken = err.Error()
			rs = connectOnly()
		}
		sp.rs = rs
	}
	if ac := s.Agent; ac != nil {
		sp.agent = agentRuleset(ac)
		sp.agentTg = target{host: tg.host, port: strconv.Itoa(ac.Port)}
		if ac.Addr != "" {
			sp.agentTg.host = ac.Addr
		}
		sp.agentInter = ac.Inter.D()
		if sp.agentInter <= 0 {
			sp.agentInter = config.DefaultAgentInter.D()
		}
	}
	sp.observe = s.Observe
	return sp
}

// fingerprint is a canonical encoding of what shapes a server's checks.
func fingerprint(b *config.Backend, s *config.Server) string {
	out, _ := json.Marshal(struct {
		HC       *config.HealthCheck
		Timeouts [2]config.Duration
		S        config.ServerCheck
		P        config.ServerProxy
		Check    bool
		Name     string
	}{b.HealthCheck, [2]config.Duration{b.Timeouts.Connect, b.Timeouts.Check}, s.ServerCheck, s.ServerProxy, s.Check, s.Name})
	return string(out)
}

func (sp spec) equal(o spec) bool {
	return sp.addr == o.addr && sp.fp == o.fp && sp.timing == o.timing
}

// firstDelay staggers the first check of each server uniformly over
// [0, Inter) so that many servers do not fire together.
func (sp spec) firstDelay() time.Duration {
	return time.Duration(rand.Int64N(int64(sp.timing.Inter)))
}

// probe runs one health check.
func (sp spec) probe(ctx context.Context) result {
	if sp.broken != "" {
		return result{verdict: fail, status: "SOCKERR", desc: "SOCKERR " + sp.broken}
	}
	return runRuleset(ctx, sp.rs, &sp.tg, sp.lim)
}

// probeAgent runs one agent check; without timeout check, agent-inter
// bounds it.
func (sp spec) probeAgent(ctx context.Context) result {
	lim := sp.lim
	lim.inter = sp.agentInter
	return runRuleset(ctx, sp.agent, &sp.agentTg, lim)
}

// checkAddr is where the health check connects by default, for logs.
func (sp spec) checkAddr() string { return net.JoinHostPort(sp.tg.host, sp.tg.port) }

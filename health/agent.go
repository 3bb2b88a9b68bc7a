package health

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// The agent check (HAProxy's agent-check): a ruleset of its own, run on
// its own schedule, whose custom matcher reads the agent's one line of
// words. Its answers change the server's state as HAProxy applies them:
//   - "up" / "down", "fail", "stopped": the agent's health, ANDed with
//     the health check's (a server is down when either says so);
//   - "ready" / "drain" / "maint": drain makes the server nolb (sticky
//     traffic only), maint makes it down (no traffic), ready undoes both;
//   - "NN%": the weight, as a share of the configured (or operator's)
//     weight (Status.AgentWeight).
// Words not sent leave their part as it was: only the agent undoes what
// it set. A failed connection to the agent changes nothing.

// agentReply is what one agent answer said; empty fields were not sent.
type agentReply struct {
	parsed  bool
	health  string // "up", "down", "fail", "stopped"
	admin   string // "ready", "drain", "maint"
	weight  int    // percent; -1: not sent
	maxconn string // "maxconn:N" as sent (tandem does not apply it)
	desc    string // after '#'
	err     string // the first word tandem does not know
}

// parseAgentReply parses the first line of an agent's answer: words
// separated by spaces, tabs or commas, in any order, the last of each kind
// winning, and an optional description after '#'.
func parseAgentReply(line string) agentReply {
	a := agentReply{parsed: true, weight: -1}
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	words, desc, _ := strings.Cut(line, "#")
	a.desc = strings.TrimSpace(desc)
	for _, w := range strings.FieldsFunc(words, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		lw := strings.ToLower(w)
		switch {
		case lw == "up" || lw == "down" || lw == "fail" || lw == "stopped":
			a.health = lw
		case lw == "ready" || lw == "drain" || lw == "maint":
			a.admin = lw
		case w[0] >= '0' && w[0] <= '9' && strings.Contains(w, "%"):
			if n, err := strconv.Atoi(strings.TrimSuffix(w, "%")); err == nil && n >= 0 {
				a.weight = min(n, 100*config.MaxWeight)
			} else if a.err == "" {
				a.err = w
			}
		case strings.HasPrefix(lw, "maxconn:"):
			a.maxconn = w
		default:
			if a.err == "" {
				a.err = w
			}
		}
	}
	return a
}

// String is the result line HAProxy shows: "via agent : down (reason)".
func (a agentReply) String() string {
	var parts []string
	for _, p := range []string{a.health, a.admin} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if a.weight >= 0 {
		parts = append(parts, strconv.Itoa(a.weight)+"%")
	}
	if a.maxconn != "" {
		parts = append(parts, a.maxconn+" (not applied)")
	}
	s := "via agent : " + strings.Join(parts, " ")
	switch {
	case a.desc != "":
		s += " (" + a.desc + ")"
	case a.err != "":
		s += " (unknown word " + strconv.Quote(a.err) + ")"
	}
	return s
}

// agentExpect is the agent ruleset's matcher: one line, then the answer.
func agentExpect(x *evalCtx) outcome {
	i := strings.IndexAny(string(x.buf), "\r\n")
	if i < 0 {
		if !x.last {
			return wait()
		}
		return outcome{r: evalStop, status: "L7RSP", msg: "ignoring incomplete line from agent " + quote(x.buf)}
	}
	*x.agent = parseAgentReply(string(x.buf[:i]))
	return outcome{r: evalContinue, msg: x.agent.String()}
}

// agentRuleset connects to the agent, sends agent-send, reads the answer.
func agentRuleset(ac *config.AgentCheck) *ruleset {
	rs := &ruleset{proto: "agent-check", steps: []step{
		{kind: stepConnect, connect: &connectStep{port: ac.Port, desc: "connect port " + strconv.Itoa(ac.Port)}},
	}}
	if ac.Send != "" {
		rs.steps = append(rs.steps, sendBytes([]byte(ac.Send), "send "+quote([]byte(ac.Send))))
	}
	rs.steps = append(rs.steps, expectStepOf(&expectStep{custom: agentExpect, desc: "expect agent line", errStatus: "L7RSP"}))
	return rs
}

// agentState is what the agent set so far.
type agentState struct {
	down   bool   // "down", "fail" or "stopped" last, not yet "up"
	admin  string // "drain" or "maint"; "" when ready
	weight int    // percent; -1: never set
	result string // the last agent check's result, for Status
}

// apply folds one answer into the state and reports whether the
// server's effective health or weight may have changed.
func (s *agentState) apply(a agentReply) bool {
	before := *s
	switch a.health {
	case "up":
		s.down = false
	case "down", "fail", "stopped":
		s.down = true
	}
	switch a.admin {
	case "ready":
		s.admin = ""
	case "drain", "maint":
		s.admin = a.admin
	}
	if a.weight >= 0 {
		s.weight = a.weight
	}
	return before.down != s.down || before.admin != s.admin || before.weight != s.weight
}

// effective combines the health check's health with the agent's: down if
// either says so (or maint), nolb on drain.
func (s *agentState) effective(h config.Health) config.Health {
	switch {
	case s.down || s.admin == "maint":
		return config.HealthDown
	case s.admin == "drain" && h != config.HealthDown:
		return config.HealthNoLB
	}
	return h
}

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

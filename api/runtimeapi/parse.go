package runtimeapi

import (
	"strconv"
	"time"
)

// Command is one parsed request. Need is the level it requires: a session
// below it answers "Permission denied" before looking at anything else.
type Command interface {
	Need() Level
}

// The commands. Fields hold the request's words, validated as far as can
// be without the cluster's state; what needs the state (is there such a
// server? what is its initial weight?) is checked when the command runs,
// in HAProxy's order.
type (
	// Unknown names no command: answered with HAProxy's usage message
	// (the closest commands, or all of them).
	Unknown struct{ Args []string }
	// Help lists the commands matching Args ("help", "help show").
	Help struct{ Args []string }
	// Prompt toggles interactive mode.
	Prompt struct{}
	// Quit closes the connection.
	Quit struct{}
	// SetTimeout sets this connection's idle timeout ("set timeout cli N").
	SetTimeout struct{ Timeout time.Duration }
	// ShowCLILevel answers the session's level.
	ShowCLILevel struct{}
	// ShowVersion answers the version.
	ShowVersion struct{}
	// SetLevel lowers the session's level ("operator", "user").
	SetLevel struct{ To Level }
	// ShowServersState dumps the servers' state (one backend, or all).
	ShowServersState struct{ Backend string }
	// ShowBackend lists the backends.
	ShowBackend struct{}
	// SetHealth pauses or resumes a server's health check cluster-wide.
	SetHealth struct {
		Target string
		Enable bool
	}
	// SetEnabled is "enable/disable server": ready or maint.
	SetEnabled struct {
		Target string
		Enable bool
	}
	// SetMaxConn changes a server's maxconn cluster-wide.
	SetMaxConn struct{ Target, Value string }
	// SetServer is "set server B/S FIELD ARGS...".
	SetServer struct {
		Target string
		Field  string
		Args   []string // the words after Field
	}
	// GetWeight answers a server's current and initial weight.
	GetWeight struct{ Target string }
	// SetWeight is the deprecated "set weight B/S W".
	SetWeight struct{ Target, Weight string }
	// ClearCounters clears the max counters, or every counter with All.
	ClearCounters struct{ All bool }
	// ShowInfo answers "show info"; Typed selects the typed form.
	ShowInfo struct{ Typed bool }
	// ShowStat answers "show stat": every proxy, or the objects Filter
	// selects; Typed selects the typed form.
	ShowStat struct {
		Filter  *StatFilter
		Typed   bool
		NoMaint bool // hide servers in maintenance
		Up      bool // show only servers that are up
	}
	// Malformed is a known command whose words are wrong; Reply is
	// HAProxy's answer, given once the level check has passed.
	Malformed struct {
		Level Level
		Reply string
	}
)

// StatFilter is "show stat IID TYPE SID": a proxy by id (or name), a type
// mask (1 frontend, 2 backend, 4 server, -1 all) and a server id (-1 all).
type StatFilter struct {
	Proxy string // the proxy's name or numeric id
	Type  int
	SID   int
}

func (Unknown) Need() Level          { return 0 }
func (Help) Need() Level             { return 0 }
func (Prompt) Need() Level           { return 0 }
func (Quit) Need() Level             { return 0 }
func (SetTimeout) Need() Level       { return 0 }
func (ShowCLILevel) Need() Level     { return 0 }
func (ShowVersion) Need() Level      { return 0 }
func (c SetLevel) Need() Level       { return c.To }
func (ShowServersState) Need() Level { return 0 }
func (ShowBackend) Need() Level      { return 0 }
func (SetHealth) Need() Level        { return LevelAdmin }
func (SetEnabled) Need() Level       { return LevelAdmin }
func (SetMaxConn) Need() Level       { return LevelAdmin }
func (SetServer) Need() Level        { return LevelAdmin }
func (GetWeight) Need() Level        { return 0 }
func (SetWeight) Need() Level        { return LevelAdmin }
func (ShowInfo) Need() Level         { return 0 }
func (ShowStat) Need() Level         { return 0 }
func (c Malformed) Need() Level      { return c.Level }

// Need of "clear counters" is operator, and admin with "all" (HAProxy
// checks both in that order, with one answer).
func (c ClearCounters) Need() Level {
	if c.All {
		return LevelAdmin
	}
	return LevelOperator
}

func parseHelp(args []string) Command { return Help{Args: args[1:]} }

func parseSetTimeout(args []string) Command {
	if arg(args, 2) != "cli" {
		return Malformed{Reply: "'set timeout' only supports 'cli'.\n"}
	}
	v := arg(args, 3)
	if v == "" {
		return Malformed{Reply: "Expects an integer value.\n"}
	}
	d, ok := parseTimeSeconds(v)
	if !ok || d < time.Second {
		return Malformed{Reply: "Invalid timeout value.\n"}
	}
	return SetTimeout{Timeout: d}
}

// parseTimeSeconds reads an HAProxy time whose default unit is the second
// (parse_time_err with TIME_UNIT_S): digits and an optional unit among us,
// ms, s, m, h, d.
func parseTimeSeconds(s string) (time.Duration, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 32)
	if err != nil {
		return 0, false
	}
	units := map[string]time.Duration{"": time.Second, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[s[i:]]
	if !ok {
		return 0, false
	}
	d := time.Duration(n) * u
	if d/u != time.Duration(n) || d > 24*time.Hour*24 {
		return 0, false // beyond HAProxy's 32-bit millisecond ticks
	}
	return d, true
}

func parseSetLevel(args []string) Command {
	if args[0] == "operator" {
		return SetLevel{To: LevelOperator}
	}
	return SetLevel{To: LevelUser}
}

func parseShowServersState(args []string) Command {
	return ShowServersState{Backend: arg(args, 3)}
}

func parseHealth(args []string) Command {
	return SetHealth{Target: arg(args, 2), Enable: args[0] == "enable"}
}

func parseEnableServer(args []string) Command {
	return SetEnabled{Target: arg(args, 2), Enable: args[0] == "enable"}
}

func parseSetMaxConn(args []string) Command {
	return SetMaxConn{Target: arg(args, 3), Value: arg(args, 4)}
}

func parseSetServer(args []string) Command {
	c := SetServer{Target: arg(args, 2), Field: arg(args, 3)}
	if len(args) > 4 {
		c.Args = args[4:]
	}
	return c
}

func parseGetWeight(args []string) Command { return GetWeight{Target: arg(args, 2)} }

func parseSetWeight(args []string) Command {
	return SetWeight{Target: arg(args, 2), Weight: arg(args, 3)}
}

func parseClearCounters(args []string) Command {
	return ClearCounters{All: arg(args, 2) == "all"}
}

func parseShowInfo(args []string) Command {
	var c ShowInfo
	for _, a := range args[2:] {
		if a == "typed" {
			c.Typed = true
		}
	}
	return c
}

// parseShowStat follows cli_parse_show_stat: an optional "domain proxy",
// then three words as a filter when all three are present, then flags;
// unknown flags are ignored, as HAProxy ignores them.
func parseShowStat(args []string) Command {
	var c ShowStat
	rest := args[2:]
	if arg(rest, 0) == "domain" {
		if arg(rest, 1) != "proxy" {
			return Malformed{Reply: "Invalid statistics domain.\n"}
		}
		rest = rest[2:]
	}
	if arg(rest, 0) != "" && arg(rest, 1) != "" && arg(rest, 2) != "" {
		c.Filter = &StatFilter{Proxy: rest[0], Type: atoi(rest[1]), SID: atoi(rest[2])}
		rest = rest[3:]
	}
	for _, a := range rest {
		switch a {
		case "typed":
			c.Typed = true
		case "no-maint":
			c.NoMaint = true
		case "up":
			c.Up = true
		}
	}
	return c
}

// atoi is C's atoi: leading spaces, an optional sign, digits; 0 when none.
func atoi(s string) int {
	n, _, _ := strtol(s)
	return int(n)
}

// strtol is C's strtol in base 10: it skips leading white space, reads an
// optional sign and digits, and saturates on overflow. rest is what
// follows the number; ok is false when no digit was read (then rest is s).
func strtol(s string) (n int64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	const limit = int64(^uint64(0) >> 1)
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := int64(s[i] - '0')
		if n > (limit-d)/10 {
			n = limit
		} else if n != limit {
			n = n*10 + d
		}
		i++
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		n = -n
	}
	return n, s[i:], true
}

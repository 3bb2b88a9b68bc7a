package runtimeapi

import (
	"fmt"
	"strings"
)

// Level is what a socket or a session may do (HAProxy's "level").
type Level int

// Levels, in HAProxy's order: each includes the ones before it.
const (
	LevelUser     Level = 1 // read non-sensitive stats, change nothing
	LevelOperator Level = 2 // read everything, clear max counters
	LevelAdmin    Level = 3 // everything, including state changes
)

func (l Level) String() string {
	switch l {
	case LevelUser:
		return "user"
	case LevelOperator:
		return "operator"
	case LevelAdmin:
		return "admin"
	}
	return "unknown"
}

// ParseLevel reads "user", "operator" or "admin".
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{LevelUser, LevelOperator, LevelAdmin} {
		if s == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("level %q: want user, operator or admin", s)
}

// keyword is one entry of the command table: the words that name it, its
// usage line in HAProxy's help (copied from HAProxy 2.6, "" for the
// always-listed help, prompt and quit) and its parser.
type keyword struct {
	words []string
	usage string
	parse func(args []string) Command
}

// keywords is the command table, in the order HAProxy registers these
// keywords; cli_find_kw takes the first whose words all match.
var keywords = []keyword{
	{[]string{"help"}, "", parseHelp},
	{[]string{"prompt"}, "", func([]string) Command { return Prompt{} }},
	{[]string{"quit"}, "", func([]string) Command { return Quit{} }},
	{[]string{"set", "timeout"}, "set timeout [cli] <delay>               : change a timeout setting", parseSetTimeout},
	{[]string{"show", "cli", "level"}, "show cli level                          : display the level of the current CLI session", func([]string) Command { return ShowCLILevel{} }},
	{[]string{"show", "version"}, "show version                            : show version of the current process", func([]string) Command { return ShowVersion{} }},
	{[]string{"operator"}, "operator                                : lower the level of the current CLI session to operator", parseSetLevel},
	{[]string{"user"}, "user                                    : lower the level of the current CLI session to user", parseSetLevel},
	{[]string{"show", "servers", "state"}, "show servers state [<backend>]          : dump volatile server information (all or for a single backend)", parseShowServersState},
	{[]string{"show", "backend"}, "show backend                            : list backends in the current running config", func([]string) Command { return ShowBackend{} }},
	{[]string{"disable", "health"}, "disable health                          : disable health checks", parseHealth},
	{[]string{"disable", "server"}, "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)", parseEnableServer},
	{[]string{"enable", "health"}, "enable health                           : enable health checks", parseHealth},
	{[]string{"enable", "server"}, "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)", parseEnableServer},
	{[]string{"set", "maxconn", "server"}, "set maxconn server <bk>/<srv>           : change a server's maxconn setting", parseSetMaxConn},
	{[]string{"set", "server"}, "set server <bk>/<srv> [opts]            : change a server's state, weight, address or ssl", parseSetServer},
	{[]string{"get", "weight"}, "get weight <bk>/<srv>                   : report a server's current weight", parseGetWeight},
	{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)", parseSetWeight},
	{[]string{"clear", "counters"}, "clear counters [all]                    : clear max statistics counters (or all counters)", parseClearCounters},
	{[]string{"show", "info"}, "show info [desc|json|typed|float]*      : report information about the running process", parseShowInfo},
	{[]string{"show", "stat"}, "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server", parseShowStat},
}

// findKeyword returns the first keyword whose words are all args' first
// words (HAProxy's cli_find_kw), or nil.
func findKeyword(args []string) *keyword {
	for i := range keywords {
		kw := &keywords[i]
		if len(args) >= len(kw.words) && equalWords(kw.words, args[:len(kw.words)]) {
			return kw
		}
	}
	return nil
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Parse turns a request's words into a Command. It never fails: words
// that name no command give Unknown (answered with HAProxy's usage
// message), and malformed arguments give Malformed with HAProxy's answer.
func Parse(words []string) Command {
	kw := findKeyword(words)
	if kw == nil {
		return Unknown{Args: words}
	}
	return kw.parse(words)
}

// arg returns args[i], or "" past the end (HAProxy's unused argument
// slots point at an empty string).
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// splitTarget reads "backend/server" at the first '/', as cli_find_server
// does.
func splitTarget(s string) (backend, server string, ok bool) {
	b, srv, found := strings.Cut(s, "/")
	if !found || b == "" || srv == "" {
		return "", "", false
	}
	return b, srv, true
}

package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// HAProxyVersion is the HAProxy version whose semantics the importer
// follows and that version_atleast() and version_before() compare with:
// Debian 12's haproxy, which the differential tests run.
const HAProxyVersion = "2.6.12"

// features are the words "haproxy -vv" lists after "Feature list" for
// Debian 12's HAProxy 2.6.12, which feature() answers from: a cfg takes the
// same branches it takes there, and what tandem cannot do in a branch taken
// is then refused like any other directive.
var features = setOf("ACCEPT4", "BACKTRACE", "CPU_AFFINITY", "CRYPT_H", "DL", "EPOLL",
	"GETADDRINFO", "LIBCRYPT", "LINUX_SPLICE", "LINUX_TPROXY", "LUA", "NETFILTER", "NS",
	"OPENSSL", "OT", "PCRE2", "PCRE2_JIT", "POLL", "PRCTL", "PROMEX", "RT", "SLZ",
	"SYSTEMD", "TFO", "THREAD", "THREAD_DUMP", "TPROXY")

// condLevel is one open .if block.
type condLevel struct {
	line    int  // the .if line
	taken   bool // a branch of this block was taken (or the block is inside a skipped one)
	active  bool // the lines of the current branch are read
	sawElse bool
}

// inactive reports whether lines are being skipped by a conditional block.
func (p *parser) inactive() bool {
	n := len(p.conds)
	return n > 0 && !p.conds[n-1].active
}

// preprocess handles a line whose first word starts with '.' (configuration.txt 2.4).
func (p *parser) preprocess(num int, words []string) {
	outer := !p.inactive()
	n := len(p.conds)
	switch words[0] {
	case ".if":
		lv := condLevel{line: num, taken: !outer}
		if outer {
			lv.active = p.evalCond(num, words)
			lv.taken = lv.active
		}
		p.conds = append(p.conds, lv)
	case ".elif", ".else":
		if n == 0 {
			p.errorf(nil, num, "lone '%s' with no matching '.if'", words[0])
			return
		}
		lv := &p.conds[n-1]
		if lv.sawElse {
			p.errorf(nil, num, "'%s' after '.else' is not permitted", words[0])
			return
		}
		lv.active = false
		if words[0] == ".else" {
			lv.sawElse = true
			lv.active = !lv.taken
		} else if !lv.taken {
			lv.active = p.evalCond(num, words)
		}
		lv.taken = lv.taken || lv.active
	case ".endif":
		if n == 0 {
			p.errorf(nil, num, "lone '.endif' with no matching '.if'")
			return
		}
		p.conds = p.conds[:n-1]
	case ".notice", ".warning", ".alert", ".diag":
		if !outer {
			return
		}
		if len(words) != 2 {
			p.errorf(nil, num, "'%s' wants one message: use quotes if it contains spaces", words[0])
			return
		}
		switch words[0] {
		case ".notice":
			p.warnf(nil, num, "notice: %s", words[1])
		case ".warning":
			p.warnf(nil, num, "%s", words[1])
		case ".alert":
			p.errorf(nil, num, "alert: %s", words[1])
		}
		// .diag prints only in HAProxy's diagnostic mode (-dD).
	default:
		if outer {
			p.errorf(nil, num, "unknown directive '%s' (HAProxy 2.6 has .if, .elif, .else, .endif, .notice, .warning, .alert and .diag)", words[0])
		}
	}
}

// endConds reports blocks left open at the end of the file.
func (p *parser) endConds() {
	for _, lv := range p.conds {
		p.errorf(nil, lv.line, "'.if' without a matching '.endif'")
	}
	p.conds = nil
}

// evalCond evaluates the condition of an .if or .elif line; an error is
// reported and counts as false. As HAProxy does, the words are joined with
// single spaces into one expression.
func (p *parser) evalCond(num int, words []string) bool {
	expr := strings.Join(words[1:], " ")
	c := condParser{s: expr, lookup: p.env.lookup}
	v, err := c.or()
	if err == nil && c.pos < len(c.s) {
		err = fmt.Errorf("unexpected character '%c' at position %d", c.s[c.pos], c.pos+1)
	}
	if err != nil {
		p.errorf(nil, num, "'%s %s': %v", words[0], expr, err)
		return false
	}
	return v
}

// condParser evaluates HAProxy's conditional expressions: integers,
// predicates with arguments, '!', parentheses, '&&' binding tighter than '||'.
type condParser struct {
	s      string
	pos    int
	lookup lookupFunc // for defined()
}

func (c *condParser) skipSpace() {
	for c.pos < len(c.s) && (c.s[c.pos] == ' ' || c.s[c.pos] == '\t') {
		c.pos++
	}
}

func (c *condParser) eat(tok string) bool {
	c.skipSpace()
	if strings.HasPrefix(c.s[c.pos:], tok) {
		c.pos += len(tok)
		return true
	}
	return false
}

func (c *condParser) or() (bool, error) {
	v, err := c.and()
	for err == nil && c.eat("||") {
		var w bool
		w, err = c.and()
		v = v || w
	}
	return v, err
}

func (c *condParser) and() (bool, error) {
	v, err := c.term()
	for err == nil && c.eat("&&") {
		var w bool
		w, err = c.term()
		v = v && w
	}
	return v, err
}

func (c *condParser) term() (bool, error) {
	c.skipSpace()
	switch {
	case c.pos >= len(c.s):
		return false, nil // an empty condition is false
	case c.eat("!"):
		v, err := c.term()
		return !v, err
	case c.eat("("):
		v, err := c.or()
		if err == nil && !c.eat(")") {
			err = fmt.Errorf("missing ')' at position %d", c.pos+1)
		}
		return v, err
	case c.s[c.pos] >= '0' && c.s[c.pos] <= '9' || c.s[c.pos] == '-':
		start := c.pos
		c.pos++
		for c.pos < len(c.s) && c.s[c.pos] >= '0' && c.s[c.pos] <= '9' {
			c.pos++
		}
		n, err := strconv.ParseInt(c.s[start:c.pos], 10, 64)
		if err != nil {
			return false, fmt.Errorf("invalid number %q", c.s[start:c.pos])
		}
		return n != 0, nil
	}
	return c.predicate()
}

func (c *condParser) predicate() (bool, error) {
	start := c.pos
	for c.pos < len(c.s) && (c.s[c.pos] == '_' || c.s[c.pos] >= 'a' && c.s[c.pos] <= 'z') {
		c.pos++
	}
	name := c.s[start:c.pos]
	pred, ok := predicates[name]
	if !ok {
		return false, fmt.Errorf("unknown predicate %q at position %d (HAProxy 2.6 has defined, feature, streq, strneq, version_atleast and version_before)", c.s[start:], start+1)
	}
	if c.pos >= len(c.s) || c.s[c.pos] != '(' {
		return false, fmt.Errorf("%s wants arguments in parentheses, e.g. %s(X)", name, name)
	}
	args, err := c.args()
	if err != nil {
		return false, err
	}
	if len(args) != pred.arity {
		return false, fmt.Errorf("%s() takes %d argument(s), got %d", name, pred.arity, len(args))
	}
	if name == "defined" {
		_, ok := c.lookup(args[0])
		return ok, nil
	}
	return pred.fn(args)
}

// args reads "(a,b,...)" with HAProxy's second-level quoting: quotes
// protect commas and parentheses, and a backslash escapes one character.
func (c *condParser) args() ([]string, error) {
	c.pos++ // '('
	var args []string
	var cur strings.Builder
	var quote byte
	for ; c.pos < len(c.s); c.pos++ {
		ch := c.s[c.pos]
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case ch == '\\' && quote != '\'' && c.pos+1 < len(c.s):
			c.pos++
			cur.WriteByte(c.s[c.pos])
		case quote != 0:
			cur.WriteByte(ch)
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == ',':
			args = append(args, cur.String())
			cur.Reset()
		case ch == ')':
			c.pos++
			return append(args, cur.String()), nil
		default:
			cur.WriteByte(ch)
		}
	}
	return nil, fmt.Errorf("missing ')' at the end")
}

type predicate struct {
	arity int
	fn    func(args []string) (bool, error)
}

// predicates are HAProxy 2.6's (configuration.txt 2.4); defined() reads
// the environment, so condParser answers it itself.
var predicates = map[string]predicate{
	"defined": {1, nil},
	"feature": {1, func(a []string) (bool, error) { return features[a[0]], nil }},
	"streq":   {2, func(a []string) (bool, error) { return a[0] == a[1], nil }},
	"strneq":  {2, func(a []string) (bool, error) { return a[0] != a[1], nil }},
	"version_atleast": {1, func(a []string) (bool, error) {
		c, err := compareVersion(HAProxyVersion, a[0])
		return c >= 0, err
	}},
	"version_before": {1, func(a []string) (bool, error) {
		c, err := compareVersion(HAProxyVersion, a[0])
		return c < 0, err
	}},
}

// compareVersion compares two HAProxy versions ("2.6.12", "2.4-dev19",
// "2.5-rc1"): -1, 0 or 1. Missing components are zero, and a development
// or release-candidate version comes before its release.
func compareVersion(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}

// parseVersion reads major[.minor[.patch[.sub]]][-devN|-preN|-rcN] into
// comparable numbers: four components, the stage (dev < pre < rc < release)
// and the stage's number.
func parseVersion(s string) ([6]int, error) {
	var v [6]int
	num, stage, hasStage := strings.Cut(s, "-")
	parts := strings.Split(num, ".")
	if len(parts) > 4 || num == "" {
		return v, fmt.Errorf("invalid version %q: want e.g. 2.6 or 2.4-dev19", s)
	}
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return v, fmt.Errorf("invalid version %q: want e.g. 2.6 or 2.4-dev19", s)
		}
		v[i] = n
	}
	v[4] = 3
	if hasStage {
		for i, pre := range []string{"dev", "pre", "rc"} {
			if rest, ok := strings.CutPrefix(stage, pre); ok {
				n, err := strconv.Atoi(rest)
				if err != nil {
					return v, fmt.Errorf("invalid version %q: want e.g. 2.4-dev19", s)
				}
				v[4], v[5] = i, n
				return v, nil
			}
		}
		return v, fmt.Errorf("invalid version %q: the suffix after '-' must be devN, preN or rcN", s)
	}
	return v, nil
}

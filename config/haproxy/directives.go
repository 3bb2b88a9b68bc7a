package haproxy

import (
	"strconv"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// directive is how one keyword of a defaults, frontend, backend or listen
// section is read.
type directive struct {
	side       side // the side it configures; hasSide checked before fn runs
	noDefaults bool // an error in a defaults section, as in HAProxy
	neg        bool // accepts a leading "no"
	fn         func(p *parser, px *proxy, l line)
}

var directives = map[string]directive{
	"bind":            {side: sideFE, noDefaults: true, fn: (*parser).bind},
	"default_backend": {side: sideFE, fn: (*parser).defaultBackend},
	"maxconn":         {side: sideFE, fn: (*parser).maxConn},
	"mode":            {side: sideAny, fn: (*parser).mode},
	"option":          {side: sideAny, neg: true, fn: (*parser).option},
	"timeout":         {side: sideAny, fn: (*parser).timeout},
	"contimeout":      {side: sideAny, fn: (*parser).oldTimeout},
	"clitimeout":      {side: sideAny, fn: (*parser).oldTimeout},
	"srvtimeout":      {side: sideAny, fn: (*parser).oldTimeout},
	"balance":         {side: sideBE, fn: (*parser).balance},
	"retries":         {side: sideBE, fn: (*parser).retries},
	"cookie":          {side: sideBE, fn: (*parser).cookie},
	"server":          {side: sideBE, noDefaults: true, fn: (*parser).server},
	"default-server":  {side: sideBE, fn: (*parser).defaultServer},
	"http-check":      {side: sideBE, fn: (*parser).httpCheck},
}

// knownUnsupported are HAProxy proxy keywords tandem ignores with a
// "not supported" warning; any other unknown keyword gets "unknown keyword".
var knownUnsupported = setOf("acl", "use_backend", "use-server", "http-request",
	"http-response", "http-after-response", "tcp-request", "tcp-response", "log",
	"log-format", "log-tag", "stats", "errorfile", "errorfiles", "errorloc",
	"errorloc302", "errorloc303", "capture", "compression", "description",
	"disabled", "enabled", "id", "fullconn", "hash-type", "hash-balance-factor",
	"http-reuse", "http-send-name-header", "monitor", "monitor-uri", "monitor-net",
	"persist", "force-persist", "ignore-persist", "redirect", "retry-on",
	"server-template", "source", "stick", "stick-table", "tcp-check",
	"unique-id-format", "unique-id-header", "email-alert", "external-check",
	"filter", "grace", "rate-limit", "backlog", "bind-process",
	"load-server-state-from-file", "server-state-file-name", "dispatch",
	"http-error", "max-keep-alive-queue", "declare", "reqadd", "reqrep", "reqirep",
	"reqdel", "reqidel", "reqallow", "reqdeny", "reqtarpit", "rspadd", "rsprep",
	"rspirep", "rspdel", "rspidel", "block", "transparent", "guid")

// hints finish some "not supported" warnings with what to do instead.
var hints = map[string]string{
	"log":                  "tandem logs to its standard output",
	"use_backend":          "every request goes to default_backend",
	"stats":                "tandem's dashboard is on the admin API, port 8404",
	"option httplog":       "set access_log on the frontend in the cluster config",
	"option tcplog":        "set access_log on the frontend in the cluster config",
	"stick":                "set stick_source on the backend in the cluster config",
	"stick-table":          "set stick_source and stick_expire on the backend in the cluster config",
	"option tcp-check":     "plain TCP checks are used",
	"option ssl-hello-chk": "plain TCP checks are used",
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// oneArg returns the only argument of l, or reports that there is not exactly one.
func (p *parser) oneArg(l line) (string, bool) {
	if len(l.args) != 1 {
		p.errorf(l.num, "'%s' wants one value (got %d)", l.kw, len(l.args))
		return "", false
	}
	return l.args[0], true
}

// intArg parses a whole number in [lo, hi] for the setting what.
func (p *parser) intArg(l line, what, s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil {
		p.errorf(l.num, "'%s' wants a whole number, got %q", what, s)
		return 0, false
	}
	if n < lo || n > hi {
		p.errorf(l.num, "'%s' wants a number from %d to %d, got %d", what, lo, hi, n)
		return 0, false
	}
	return n, true
}

// durationArg parses an HAProxy time ("2000" is 2000 ms, "5s", "1m").
func (p *parser) durationArg(l line, what, s string) (time.Duration, bool) {
	d, err := config.ParseDuration(s)
	if err != nil {
		p.errorf(l.num, "'%s': %v", what, err)
		return 0, false
	}
	return d, true
}

func (p *parser) maxConn(px *proxy, l line) {
	if v, ok := p.oneArg(l); ok {
		*px.fs.maxConn, _ = p.intArg(l, "maxconn", v, 0, 1<<31-1)
	}
}

func (p *parser) mode(px *proxy, l line) {
	v, ok := p.oneArg(l)
	if !ok {
		return
	}
	var m config.Mode
	if err := m.UnmarshalText([]byte(v)); err != nil || m == config.ModeUnset {
		p.errorf(l.num, "unknown mode '%s' (tandem supports http and tcp)", v)
		return
	}
	if px.fs != nil {
		*px.fs.mode = m
	}
	if px.bs != nil {
		*px.bs.mode = m
	}
}

func (p *parser) defaultBackend(px *proxy, l line) {
	if v, ok := p.oneArg(l); ok {
		px.x.defaultBackend, px.x.defaultBackendLine = v, l.num
	}
}

func (p *parser) balance(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(l.num, "'balance' wants an algorithm, e.g. 'balance roundrobin'")
		return
	}
	name := l.args[0]
	if draws, ok := strings.CutPrefix(name, "random("); ok {
		if draws != "2)" {
			p.warnf(l.num, "'balance %s' read as 'balance random': tandem draws two servers and takes the less loaded", name)
		}
		name = "random"
	}
	var a config.Algorithm
	if err := a.UnmarshalText([]byte(name)); err != nil || a == config.AlgoUnset {
		p.errorf(l.num, "unknown balance algorithm '%s' (tandem supports roundrobin, static-rr, leastconn, source, uri, random, first)", l.args[0])
		return
	}
	if len(l.args) > 1 {
		p.warnf(l.num, "'balance %s' options %s are not supported by tandem (ignored)", name, strings.Join(l.args[1:], " "))
	}
	*px.bs.balance = a
}

func (p *parser) retries(px *proxy, l line) {
	if v, ok := p.oneArg(l); ok {
		if n, ok := p.intArg(l, "retries", v, 0, 1<<31-1); ok {
			*px.bs.retries = &n
		}
	}
}

// cookie reads "cookie NAME insert indirect nocache".
func (p *parser) cookie(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(l.num, "'cookie' wants a name, e.g. 'cookie SERVERID insert indirect nocache'")
		return
	}
	ck := &config.Cookie{Name: l.args[0]}
	opts := l.args[1:]
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; o {
		case "insert":
			ck.Insert = true
		case "indirect":
			ck.Indirect = true
		case "nocache":
			ck.NoCache = true
		case "rewrite", "prefix":
			p.warnf(l.num, "cookie mode '%s' is not supported by tandem (ignored): without 'insert' tandem only reads the cookie", o)
		case "domain", "maxidle", "maxlife", "attr":
			p.warnf(l.num, "cookie option '%s' is not supported by tandem (ignored)", o)
			i++
		default:
			p.warnf(l.num, "cookie option '%s' is not supported by tandem (ignored)", o)
		}
	}
	px.x.cookie = ck
}

// option reads "option NAME ..." and "no option NAME".
func (p *parser) option(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(l.num, "'option' wants a name, e.g. 'option redispatch'")
		return
	}
	name, rest := l.args[0], l.args[1:]
	what := l.name() + " " + name
	switch name {
	case "redispatch":
		if p.hasSide(px, l, sideBE, what) {
			if len(rest) > 0 {
				p.warnf(l.num, "'option redispatch %s': the interval is not supported by tandem (ignored): the last retry is redispatched", rest[0])
			}
			*px.bs.redispatch = ptr(!l.neg)
		}
	case "forwardfor":
		if len(rest) > 0 {
			p.warnf(l.num, "'option forwardfor' arguments %s are not supported by tandem (ignored)", strings.Join(rest, " "))
		}
		if px.fs != nil {
			*px.fs.forwardFor = ptr(!l.neg)
		}
		if px.bs != nil {
			*px.bs.forwardFor = ptr(!l.neg)
		}
	case "httpchk":
		if p.hasSide(px, l, sideBE, what) {
			p.optionHTTPChk(px, l, rest)
		}
	default:
		p.unsupported(l, what)
	}
}

// timeoutKind is where one "timeout" keyword goes.
type timeoutKind struct {
	side  side
	field func(*config.Timeouts) *config.Duration
}

var timeoutKinds = map[string]timeoutKind{
	"connect":         {sideBE, func(t *config.Timeouts) *config.Duration { return &t.Connect }},
	"client":          {sideFE, func(t *config.Timeouts) *config.Duration { return &t.Client }},
	"server":          {sideBE, func(t *config.Timeouts) *config.Duration { return &t.Server }},
	"http-request":    {sideAny, func(t *config.Timeouts) *config.Duration { return &t.HTTPRequest }},
	"http-keep-alive": {sideAny, func(t *config.Timeouts) *config.Duration { return &t.HTTPKeepAlive }},
	"queue":           {sideBE, func(t *config.Timeouts) *config.Duration { return &t.Queue }},
	"check":           {sideBE, func(t *config.Timeouts) *config.Duration { return &t.Check }},
	"tunnel":          {sideBE, func(t *config.Timeouts) *config.Duration { return &t.Tunnel }},
}

// oldTimeouts are the pre-1.3 spellings.
var oldTimeouts = map[string]string{"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}

func (p *parser) timeout(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(l.num, "'timeout' wants a kind and a value, e.g. 'timeout connect 5s'")
		return
	}
	name := l.args[0]
	tk, ok := timeoutKinds[name]
	switch {
	case name == "client-fin" || name == "server-fin" || name == "tarpit":
		p.unsupported(l, "timeout "+name)
	case !ok:
		p.errorf(l.num, "unknown timeout '%s' (tandem supports connect, client, server, http-request, http-keep-alive, queue, check, tunnel)", name)
	case len(l.args) != 2:
		p.errorf(l.num, "'timeout %s' wants one value, e.g. 'timeout %s 5s'", name, name)
	default:
		p.setTimeout(px, l, "timeout "+name, tk, l.args[1])
	}
}

func (p *parser) oldTimeout(px *proxy, l line) {
	name := oldTimeouts[l.kw]
	p.warnf(l.num, "'%s' is deprecated: read as 'timeout %s'", l.kw, name)
	if v, ok := p.oneArg(l); ok {
		p.setTimeout(px, l, l.kw, timeoutKinds[name], v)
	}
}

func (p *parser) setTimeout(px *proxy, l line, what string, tk timeoutKind, value string) {
	if !p.hasSide(px, l, tk.side, what) {
		return
	}
	d, ok := p.durationArg(l, what, value)
	if !ok {
		return
	}
	if d == 0 {
		p.warnf(l.num, "'%s 0' means no timeout in HAProxy; tandem has no unlimited timeout (ignored: the default applies)", what)
		return
	}
	t := px.bs.timeouts
	if tk.side&sideFE != 0 && px.fs != nil {
		t = px.fs.timeouts // in a listen, http-request and http-keep-alive are the frontend's
	}
	*tk.field(t) = config.Duration(d)
}

package haproxy

import (
	"strconv"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// This file holds the handlers of the mapped proxy keywords of
// keywords.go, except rules (rules.go), checks (check.go), servers and
// binds (server.go, bind.go) and stats and stick tables (stats.go).

// oneArg returns the only argument of l, or reports that there is not exactly one.
func (p *parser) oneArg(px *proxy, l line) (string, bool) {
	if len(l.args) != 1 {
		p.errorf(px, l.num, "'%s' wants one value (got %d)", l.kw, len(l.args))
		return "", false
	}
	return l.args[0], true
}

// intArg parses a whole number in [lo, hi] for the setting what.
func (p *parser) intArg(px *proxy, num int, what, s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil {
		p.errorf(px, num, "'%s' wants a whole number, got %q", what, s)
		return 0, false
	}
	if n < lo || n > hi {
		p.errorf(px, num, "'%s' wants a number from %d to %d, got %d", what, lo, hi, n)
		return 0, false
	}
	return n, true
}

// durationArg parses an HAProxy time ("2000" is 2000 ms, "5s", "1m").
func (p *parser) durationArg(px *proxy, num int, what, s string) (time.Duration, bool) {
	d, err := config.ParseDuration(s)
	if err != nil {
		p.errorf(px, num, "'%s': %v", what, err)
		return 0, false
	}
	return d, true
}

func (p *parser) maxConn(px *proxy, l line) {
	if v, ok := p.oneArg(px, l); ok {
		if n, ok := p.intArg(px, l.num, "maxconn", v, 0, 1<<31-1); ok {
			px.st.maxConn = n
			px.st.mark("maxconn", l.num)
		}
	}
}

func (p *parser) mode(px *proxy, l line) {
	v, ok := p.oneArg(px, l)
	if !ok {
		return
	}
	switch v {
	case "http":
		px.st.mode = config.ModeHTTP
	case "tcp":
		px.st.mode = config.ModeTCP
	case "health":
		p.errorf(px, l.num, "'mode health' is refused by HAProxy 2.6: removed in 2.4; write 'monitor-uri' or 'http-request return'")
		return
	default:
		p.errorf(px, l.num, "unknown mode '%s' (HAProxy 2.6 proxies take http or tcp)", v)
		return
	}
	px.st.mark("mode", l.num)
}

func (p *parser) defaultBackend(px *proxy, l line) {
	if v, ok := p.oneArg(px, l); ok {
		px.st.defaultBackend = v
		px.st.mark("default_backend", l.num)
	}
}

func (p *parser) disabled(px *proxy, l line) {
	if len(l.args) > 0 {
		p.errorf(px, l.num, "'disabled' takes no value")
		return
	}
	px.st.disabled = l.num
}

func (p *parser) enabled(px *proxy, l line) {
	if len(l.args) > 0 {
		p.errorf(px, l.num, "'enabled' takes no value")
		return
	}
	px.st.disabled = 0
}

// hashRefusal is why hash-based balancing is refused: tandem hashes with
// weighted rendezvous hashing (balancer/policy/hash.go), HAProxy with its
// map-based or consistent tables, so a client reaches a different server.
const hashRefusal = "HAProxy maps each client to a server with its own hash (hash-type map-based by default); tandem uses weighted rendezvous hashing, so a client sticks to a server but not to the one HAProxy picks"

func (p *parser) balance(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'balance' wants an algorithm, e.g. 'balance roundrobin'")
		return
	}
	name := l.args[0]
	if draws, ok := strings.CutPrefix(name, "random("); ok {
		if draws != "2)" {
			p.warnf(px, l.num, "'balance %s' read as 'balance random': tandem draws two servers and takes the less loaded (both spread requests at random)", name)
		}
		name = "random"
	}
	px.st.dropPending("balance")
	var a config.Algorithm
	switch name {
	case "roundrobin", "static-rr", "leastconn", "random", "first":
		_ = a.UnmarshalText([]byte(name))
	case "source", "uri":
		_ = a.UnmarshalText([]byte(name))
		px.st.pending = append(px.st.pending, pend{key: "balance", line: l.num, where: inBackend,
			msg: "'" + l.String() + "': " + hashRefusal})
	default:
		if strings.HasPrefix(name, "url_param") || strings.HasPrefix(name, "hdr(") || strings.HasPrefix(name, "rdp-cookie") {
			px.st.pending = append(px.st.pending, pend{key: "balance", line: l.num, where: inBackend,
				msg: "'" + l.String() + "': HAProxy hashes this part of the request to pick a server; tandem balances by roundrobin, static-rr, leastconn, random or first"})
			return
		}
		p.errorf(px, l.num, "unknown balance algorithm '%s' (HAProxy 2.6 has roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr(), random, rdp-cookie)", l.args[0])
		return
	}
	if len(l.args) > 1 && name != "source" && name != "uri" {
		px.st.pending = append(px.st.pending, pend{key: "balance", line: l.num, where: inBackend,
			msg: "'" + l.String() + "': the options after the algorithm change which server HAProxy picks; tandem has none"})
	}
	px.st.balance = a
	px.st.mark("balance", l.num)
}

func (p *parser) retries(px *proxy, l line) {
	if v, ok := p.oneArg(px, l); ok {
		if n, ok := p.intArg(px, l.num, "retries", v, 0, 100); ok {
			px.st.retries = &n
			px.st.mark("retries", l.num)
		}
	}
}

// retryOn reads "retry-on KEYWORDS...". HAProxy's default, conn-failure,
// is tandem's retry_idempotent: false; "none" is retries 0 as well.
// Other keywords re-send requests whose server failed after the request
// was sent, which tandem does for idempotent methods only.
func (p *parser) retryOn(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'retry-on' wants keywords, e.g. 'retry-on conn-failure'")
		return
	}
	px.st.dropPending("retry-on")
	switch joinWords(l.args) {
	case "conn-failure":
		px.st.retryIdempotent = ptr(false)
	case "none":
		px.st.retryIdempotent = ptr(false)
		px.st.retries = ptr(0)
		px.st.mark("retries", l.num)
	default:
		px.st.pending = append(px.st.pending, pend{key: "retry-on", line: l.num, where: inBackend, http: true,
			msg: "'" + l.String() + "': HAProxy re-sends any request (POST included) on these failures; tandem retries connection failures, and with retry_idempotent only idempotent requests"})
	}
	px.st.mark("retry_idempotent", l.num)
}

// cookie reads "cookie NAME [insert] [indirect] [nocache] ...".
func (p *parser) cookie(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'cookie' wants a name, e.g. 'cookie SERVERID insert indirect nocache'")
		return
	}
	ck := &config.Cookie{Name: l.args[0]}
	px.st.dropPending("cookie")
	opts := l.args[1:]
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; o {
		case "insert":
			ck.Insert = true
		case "indirect":
			ck.Indirect = true
		case "nocache":
			ck.NoCache = true
		case "rewrite", "prefix", "preserve", "postonly", "httponly", "secure", "dynamic":
			px.st.pending = append(px.st.pending, pend{key: "cookie", line: l.num, where: inBackend, http: true,
				msg: "'cookie " + ck.Name + " ... " + o + "': " + cookieRefusals[o]})
		case "domain", "maxidle", "maxlife", "attr":
			px.st.pending = append(px.st.pending, pend{key: "cookie", line: l.num, where: inBackend, http: true,
				msg: "'cookie " + ck.Name + " ... " + o + "': " + cookieRefusals[o]})
			i++
		default:
			p.errorf(px, l.num, "unknown cookie option '%s'", o)
		}
	}
	px.st.cookie = ck
	px.st.mark("cookie", l.num)
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "cookie"})
}

var cookieRefusals = map[string]string{
	"rewrite":  "HAProxy rewrites the server's own cookie; tandem inserts one (insert) or reads it",
	"prefix":   "HAProxy prefixes the server's own cookie with the server's name; tandem inserts one (insert) or reads it",
	"preserve": "HAProxy keeps a cookie the server set itself; tandem overwrites it",
	"postonly": "HAProxy inserts the cookie on POST responses only; tandem on any",
	"httponly": "HAProxy sets the cookie with the HttpOnly attribute; tandem without",
	"secure":   "HAProxy sets the cookie with the Secure attribute; tandem without",
	"dynamic":  "HAProxy derives each server's cookie from a secret key; tandem uses the server's cookie value",
	"domain":   "HAProxy sets the cookie for that domain; tandem for the request's host only",
	"maxidle":  "HAProxy ignores cookies idle longer than this; tandem keeps them",
	"maxlife":  "HAProxy ignores cookies older than this; tandem keeps them",
	"attr":     "HAProxy adds this attribute to the cookie; tandem does not",
}

func (p *parser) optionRedispatch(px *proxy, l line) {
	px.st.dropPending("option redispatch")
	rest := l.args[1:]
	if len(rest) > 0 {
		if n, err := strconv.Atoi(rest[0]); err != nil || n != -1 {
			px.st.pending = append(px.st.pending, pend{key: "option redispatch", line: l.num, where: inBackend,
				msg: "'" + l.String() + "': HAProxy redispatches on the retry this interval names; tandem on the last retry (-1)"})
		}
	}
	px.st.redispatch = ptr(!l.neg)
	px.st.mark("redispatch", l.num)
}

// optionForwardFor reads "option forwardfor [except NET] [header NAME] [if-none]".
func (p *parser) optionForwardFor(px *proxy, l line) {
	px.st.dropPending("option forwardfor")
	if rest := l.args[1:]; len(rest) > 0 {
		px.st.pending = append(px.st.pending, pend{key: "option forwardfor", line: l.num, where: inAll, http: true,
			msg: "'" + l.String() + "': HAProxy adds X-Forwarded-For as these options say (" + joinWords(rest) + "); tandem adds X-Forwarded-For to every request"})
	}
	px.st.forwardFor = ptr(true)
	px.st.mark("forwardfor", l.num)
	px.st.httpOnly = append(px.st.httpOnly, httpOnlyItem{l.num, "option forwardfor"})
}

// optionKeepAlive reads "option http-keep-alive": HAProxy's default and
// tandem's behaviour. Turning it off falls back to another connection
// mode, which tandem refuses.
func (p *parser) optionKeepAlive(px *proxy, l line) {
	px.st.dropPending("option http-server-close")
	px.st.dropPending("option httpclose")
	if l.neg {
		px.st.pending = append(px.st.pending, pend{key: "option http-keep-alive", line: l.num, where: inAll, http: true,
			msg: "'no option http-keep-alive': HAProxy then closes connections after each response; tandem keeps them alive"})
	}
}

// optionAllBackups reads "option allbackups": tandem spreads traffic over
// all backup servers, which HAProxy does only with this option.
func (p *parser) optionAllBackups(px *proxy, l line) {
	px.st.allBackups = !l.neg
}

// optionRestrictHeaderNames reads "option http-restrict-req-hdr-names preserve|delete|reject".
func (p *parser) optionRestrictHeaderNames(px *proxy, l line) {
	px.st.dropPending("option http-restrict-req-hdr-names")
	if len(l.args) != 2 {
		p.errorf(px, l.num, "'option http-restrict-req-hdr-names' wants preserve, delete or reject")
		return
	}
	switch l.args[1] {
	case "preserve":
	case "delete", "reject":
		px.st.pending = append(px.st.pending, pend{key: "option http-restrict-req-hdr-names", line: l.num, where: inAll, http: true,
			msg: "'" + l.String() + "': HAProxy " + l.args[1] + "s requests with header names other than letters, digits and '-'; tandem passes them on"})
	default:
		p.errorf(px, l.num, "'option http-restrict-req-hdr-names' wants preserve, delete or reject (got %s)", l.args[1])
	}
}

// httpReuse reads "http-reuse never|safe|aggressive|always".
func (p *parser) httpReuse(px *proxy, l line) {
	v, ok := p.oneArg(px, l)
	if !ok {
		return
	}
	px.st.dropPending("http-reuse")
	switch v {
	case "safe":
	case "aggressive", "always":
		p.warnf(px, l.num, "'http-reuse %s' read as tandem's connection reuse: idle server connections are shared between clients, as with 'safe'", v)
	case "never":
		px.st.pending = append(px.st.pending, pend{key: "http-reuse", line: l.num, where: inBackend, http: true,
			msg: "'http-reuse never': HAProxy never shares a server connection between client connections; tandem does"})
	default:
		p.errorf(px, l.num, "'http-reuse' wants never, safe, aggressive or always (got %s)", v)
	}
}

// timeout reads "timeout NAME VALUE"; keywords.go's timeouts table has
// already checked that NAME exists and belongs in this section.
func (p *parser) timeout(px *proxy, l line) {
	name := l.args[0]
	if len(l.args) != 2 {
		p.errorf(px, l.num, "'timeout %s' wants one value, e.g. 'timeout %s 5s'", name, name)
		return
	}
	p.setTimeout(px, l, "timeout "+name, name, l.args[1])
}

// oldTimeout reads contimeout, clitimeout and srvtimeout (--lenient only).
func (p *parser) oldTimeout(px *proxy, l line) {
	name := map[string]string{"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}[l.kw]
	if v, ok := p.oneArg(px, l); ok {
		if p.allowed(px, l, timeouts[name], "timeout "+name) {
			p.setTimeout(px, l, l.kw, name, v)
		}
	}
}

// timeoutField is where each timeout goes in config.Timeouts.
var timeoutField = map[string]func(*config.Timeouts) *config.Duration{
	"connect":         func(t *config.Timeouts) *config.Duration { return &t.Connect },
	"client":          func(t *config.Timeouts) *config.Duration { return &t.Client },
	"server":          func(t *config.Timeouts) *config.Duration { return &t.Server },
	"http-request":    func(t *config.Timeouts) *config.Duration { return &t.HTTPRequest },
	"http-keep-alive": func(t *config.Timeouts) *config.Duration { return &t.HTTPKeepAlive },
	"queue":           func(t *config.Timeouts) *config.Duration { return &t.Queue },
	"check":           func(t *config.Timeouts) *config.Duration { return &t.Check },
	"tunnel":          func(t *config.Timeouts) *config.Duration { return &t.Tunnel },
}

func (p *parser) setTimeout(px *proxy, l line, what, name, value string) {
	d, ok := p.durationArg(px, l.num, what, value)
	if !ok {
		return
	}
	if d == 0 {
		p.warnf(px, l.num, "'%s 0' means no timeout in HAProxy; tandem has no unlimited timeout (ignored: the default applies)", what)
		return
	}
	*timeoutField[name](&px.st.timeouts) = config.Duration(d)
	px.st.mark("timeouts."+strings.ReplaceAll(name, "-", "_"), l.num)
}

func ptr[T any](v T) *T { return &v }

func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

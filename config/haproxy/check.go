package haproxy

import (
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// checkRules gathers a section's health check directives: the check
// option (httpchk, tcp-check, redis-check, mysql-check, pgsql-check,
// smtpchk, ldap-check, ssl-hello-chk) and its http-check and tcp-check
// rules. They are combined at the end of the section (buildCheck in
// checkbuild.go), because HAProxy accepts them in any order.
//
// Inheritance is HAProxy 2.6's (tcpcheck.c): a section starts with its
// defaults' option and rule lists; its first own http-check (or
// tcp-check) rule starts a list of its own that replaces the inherited one,
// and so does its own "option httpchk" for http-check rules.
type checkRules struct {
	typ     config.CheckType // the last check option; unset: a TCP connect
	typLine int
	opt     *config.HealthCheck // option httpchk's request; nil: none
	optOwn  bool                // option httpchk is this section's own
	http    []checkLine
	httpOwn bool
	tcp     []checkLine
	tcpOwn  bool
	// disable404 is http-check disable-on-404.
	disable404 bool
	user       string // mysql-check, pgsql-check
	pre41      bool
	hello      string // smtpchk
	ruleLine   int    // the first http-check line
	tcpLine    int    // the first tcp-check line
	expectLine int    // the first http-check expect line
}

// checkLine is one http-check or tcp-check rule and its line; a comment
// rule has only step.Comment.
type checkLine struct {
	step config.CheckStep
	line int
}

// clone is the rules a section inherits: the same, none of them its own.
func (r checkRules) clone() checkRules {
	if r.opt != nil {
		o := *r.opt
		r.opt = &o
	}
	r.http = append([]checkLine(nil), r.http...)
	r.tcp = append([]checkLine(nil), r.tcp...)
	r.optOwn, r.httpOwn, r.tcpOwn = false, false, false
	return r
}

// setType records a check option.
func (r *checkRules) setType(t config.CheckType, num int) {
	r.typ, r.typLine = t, num
	r.user, r.pre41, r.hello = "", false, ""
}

// ownHTTP starts the section's own http-check list, replacing the
// inherited one.
func (r *checkRules) ownHTTP() {
	if !r.httpOwn {
		r.http, r.httpOwn = nil, true
	}
}

// optionHTTPChk reads the arguments of "option httpchk": none (OPTIONS /
// HTTP/1.0), <uri>, <method> <uri>, or <method> <uri> <version>. The
// version may carry headers the old way, "HTTP/1.1\r\nHost:\ www"; the Host
// header becomes the check's Host.
func (p *parser) optionHTTPChk(px *proxy, l line) {
	args := l.args[1:]
	px.st.mark("health_check", l.num)
	hc := &config.HealthCheck{Type: config.CheckHTTP} // only what is written: buildHTTPCheck fills the rest
	switch len(args) {
	case 0:
	case 1:
		hc.Path = args[0]
	case 2:
		hc.Method, hc.Path = args[0], args[1]
	case 3:
		hc.Method, hc.Path = args[0], args[1]
		hc.Version, hc.Host = p.versionHeaders(px, l, args[2])
	default:
		p.errorf(px, l.num, "'option httpchk' wants at most a method, a uri and a version (got %d arguments)", len(args))
		return
	}
	r := &px.st.check
	r.setType(config.CheckHTTP, l.num)
	r.ownHTTP()
	r.opt, r.optOwn = hc, true
}

// versionHeaders splits "HTTP/1.1\r\nHost: www\r\n..." into the version
// and the Host header, and warns about any other header.
func (p *parser) versionHeaders(px *proxy, l line, v string) (version, host string) {
	lines := strings.Split(v, "\n")
	version = strings.TrimSpace(lines[0])
	for _, h := range lines[1:] {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name, value, ok := strings.Cut(h, ":")
		switch {
		case !ok:
			p.errorf(px, l.num, "'option httpchk': header %q has no ':'", h)
		case strings.EqualFold(strings.TrimSpace(name), "host"):
			host = strings.TrimSpace(value)
		default:
			p.refusef(px, l.num, "'option httpchk': HAProxy sends header '%s' with each check; tandem sends only Host (write it with 'http-check send hdr')", strings.TrimSpace(name))
		}
	}
	return version, host
}

// optionCheck reads the protocol check options: tcp-check, redis-check,
// ldap-check, ssl-hello-chk (no arguments), mysql-check [user U [post-41|
// pre-41]], pgsql-check user U, smtpchk [HELO|EHLO domain].
func (p *parser) optionCheck(px *proxy, l line) {
	name, args := l.args[0], l.args[1:]
	r := &px.st.check
	px.st.mark("health_check", l.num)
	typ := map[string]config.CheckType{
		"tcp-check": config.CheckTCP, "redis-check": config.CheckRedis, "ldap-check": config.CheckLDAP,
		"ssl-hello-chk": config.CheckSSLHello, "mysql-check": config.CheckMySQL, "pgsql-check": config.CheckPgSQL,
		"smtpchk": config.CheckSMTP,
	}[name]
	switch name {
	case "mysql-check":
		user, pre41, ok := p.mysqlArgs(px, l, args)
		if !ok {
			return
		}
		r.setType(typ, l.num)
		r.user, r.pre41 = user, pre41
		return
	case "pgsql-check":
		if len(args) != 2 || args[0] != "user" {
			p.errorf(px, l.num, "'option pgsql-check' wants 'user <username>' (HAProxy refuses it otherwise)")
			return
		}
		r.setType(typ, l.num)
		r.user = args[1]
		return
	case "smtpchk":
		if len(args) > 2 {
			p.errorf(px, l.num, "'option smtpchk' wants at most a hello command and a domain (got %d arguments)", len(args))
			return
		}
		r.setType(typ, l.num)
		if len(args) == 2 && (args[0] == "HELO" || args[0] == "EHLO") {
			r.hello = args[0] + " " + args[1]
		} else if len(args) > 0 {
			p.warnf(px, l.num, "'option smtpchk %s' sends 'HELO localhost', as HAProxy does for anything but 'HELO domain' or 'EHLO domain'", joinWords(args))
		}
		return
	}
	if len(args) > 0 {
		p.errorf(px, l.num, "'option %s' takes no argument (got %s)", name, joinWords(args))
		return
	}
	r.setType(typ, l.num)
}

func (p *parser) mysqlArgs(px *proxy, l line, args []string) (user string, pre41, ok bool) {
	switch {
	case len(args) == 0:
		p.warnf(px, l.num, "'option mysql-check' without a user only reads the server's greeting (HAProxy deprecates this: it can get the balancer blocked by max_connect_errors)")
		return "", false, true
	case args[0] != "user" || len(args) < 2:
		p.errorf(px, l.num, "'option mysql-check' wants 'user <username> [post-41|pre-41]'")
		return "", false, false
	case len(args) == 2 || args[2] == "post-41":
		return args[1], false, len(args) <= 3
	case args[2] == "pre-41" && len(args) == 3:
		return args[1], true, true
	}
	p.errorf(px, l.num, "'option mysql-check user %s': want post-41 or pre-41 after the user (got %s)", args[1], joinWords(args[2:]))
	return "", false, false
}

// httpCheck reads "http-check disable-on-404|connect|send|expect|comment".
func (p *parser) httpCheck(px *proxy, l line) {
	r := &px.st.check
	r.ruleLine = pick(r.ruleLine, l.num)
	rule, args := l.args[0], l.args[1:]
	if rule == "disable-on-404" {
		r.disable404 = true
		return
	}
	var st config.CheckStep
	ok := true
	switch rule {
	case "connect":
		st.Connect, st.Comment, ok = p.checkConnect(px, l, args)
	case "send":
		st.Send, st.Comment, ok = p.httpCheckSend(px, l, args)
	case "expect":
		st.Expect, st.Comment, ok = p.checkExpect(px, l, args, true)
		r.expectLine = pick(r.expectLine, l.num)
	case "comment":
		if len(args) != 1 {
			p.errorf(px, l.num, "'http-check comment' wants one message")
			return
		}
		st.Comment = args[0]
	}
	if ok {
		r.ownHTTP()
		r.http = append(r.http, checkLine{st, l.num})
	}
}

// tcpCheck reads "tcp-check connect|send|send-lf|send-binary|
// send-binary-lf|expect|comment".
func (p *parser) tcpCheck(px *proxy, l line) {
	r := &px.st.check
	r.tcpLine = pick(r.tcpLine, l.num)
	rule, args := l.args[0], l.args[1:]
	var st config.CheckStep
	ok := true
	switch rule {
	case "connect":
		st.Connect, st.Comment, ok = p.checkConnect(px, l, args)
	case "send", "send-lf", "send-binary", "send-binary-lf":
		st.Send, st.Comment, ok = p.tcpCheckSend(px, l, rule, args)
	case "expect":
		st.Expect, st.Comment, ok = p.checkExpect(px, l, args, false)
	case "comment":
		if len(args) != 1 {
			p.errorf(px, l.num, "'tcp-check comment' wants one message")
			return
		}
		st.Comment = args[0]
	}
	if ok {
		if !r.tcpOwn {
			r.tcp, r.tcpOwn = nil, true
		}
		r.tcp = append(r.tcp, checkLine{st, l.num})
	}
}

// checkConnect reads "connect [default] [port N] [addr IP] [send-proxy]
// [ssl] [sni S] [alpn A] [linger] [comment M]".
func (p *parser) checkConnect(px *proxy, l line, args []string) (*config.CheckConnect, string, bool) {
	c := &config.CheckConnect{}
	comment := ""
	for i := 0; i < len(args); i++ {
		o := args[i]
		value := func() (string, bool) {
			if i+1 >= len(args) {
				p.errorf(px, l.num, "'%s connect %s' wants a value", l.kw, o)
				return "", false
			}
			i++
			return args[i], true
		}
		var v string
		ok := true
		switch o {
		case "default":
			c.Default = true
		case "send-proxy":
			c.SendProxy = true
		case "ssl":
			c.TLS = true
		case "linger":
			// tandem always closes check connections cleanly, as linger does.
		case "port":
			if v, ok = value(); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 65535 {
					p.refusef(px, l.num, "'%s connect port %s': HAProxy takes the port from this expression; tandem takes a number 1-65535", l.kw, v)
					return nil, "", false
				}
				c.Port = n
			}
		case "addr":
			if v, ok = value(); ok {
				c.Addr = v
			}
		case "sni":
			if v, ok = value(); ok {
				c.SNI = v
			}
		case "alpn":
			if v, ok = value(); ok {
				c.ALPN = v
			}
		case "comment":
			if v, ok = value(); ok {
				comment = v
			}
		case "via-socks4", "proto":
			p.refusef(px, l.num, "'%s connect %s': HAProxy runs this check step through a SOCKS4 proxy or another protocol mux; tandem connects directly", l.kw, o)
			return nil, "", false
		default:
			p.errorf(px, l.num, "'%s connect': unknown argument '%s' (want default, port, addr, send-proxy, ssl, sni, alpn, linger or comment)", l.kw, o)
			return nil, "", false
		}
		if !ok {
			return nil, "", false
		}
	}
	return c, comment, true
}

// tcpCheckSend reads "send DATA", "send-lf FMT", "send-binary HEX",
// "send-binary-lf HEXFMT", each with an optional "comment MSG".
func (p *parser) tcpCheckSend(px *proxy, l line, rule string, args []string) (*config.CheckSend, string, bool) {
	comment := ""
	if n := len(args); n == 3 && args[1] == "comment" {
		comment, args = args[2], args[:1]
	}
	if len(args) != 1 {
		p.errorf(px, l.num, "'tcp-check %s' wants one value and an optional 'comment MSG'", rule)
		return nil, "", false
	}
	v := args[0]
	s := &config.CheckSend{}
	switch rule {
	case "send":
		s.Text = v
	case "send-binary":
		if _, err := config.DecodeHex(v); err != nil {
			p.errorf(px, l.num, "'tcp-check send-binary': %v", err)
			return nil, "", false
		}
		s.Hex = v
	case "send-lf", "send-binary-lf":
		if _, err := config.ParseCheckFormat(v); err != nil {
			p.refusef(px, l.num, "'tcp-check %s': %v", rule, err)
			return nil, "", false
		}
		if rule == "send-lf" {
			s.Format = v
		} else {
			s.HexFormat = v
		}
	}
	return s, comment, true
}

// httpCheckSend reads "http-check send [meth M] [uri U] [ver V] [hdr N V]*
// [body B] [comment C]".
func (p *parser) httpCheckSend(px *proxy, l line, args []string) (*config.CheckSend, string, bool) {
	s := &config.CheckSend{}
	comment := ""
	for i := 0; i < len(args); i++ {
		o := args[i]
		n := 1
		if o == "hdr" {
			n = 2
		}
		if i+n >= len(args) {
			p.errorf(px, l.num, "'http-check send %s' wants %d value(s)", o, n)
			return nil, "", false
		}
		v := args[i+1]
		switch o {
		case "meth":
			s.Method = v
		case "uri":
			s.URI = v
		case "ver":
			s.Version = v
		case "hdr":
			if strings.Contains(args[i+2], "%") {
				p.refusef(px, l.num, "'http-check send hdr %s %s': HAProxy evaluates this log-format value; tandem sends header values as written (without %%)", v, args[i+2])
				return nil, "", false
			}
			s.Headers = append(s.Headers, config.CheckHeader{Name: v, Value: args[i+2]})
		case "body":
			s.Body = v
		case "comment":
			comment = v
		case "uri-lf", "body-lf":
			p.refusef(px, l.num, "'http-check send %s': HAProxy evaluates this log-format string on each check; tandem sends a fixed uri and body ('uri', 'body')", o)
			return nil, "", false
		default:
			p.errorf(px, l.num, "unknown 'http-check send' argument '%s' (want meth, uri, ver, hdr, body or comment)", o)
			return nil, "", false
		}
		i += n
	}
	return s, comment, true
}

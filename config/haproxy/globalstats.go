package haproxy

import (
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// globalStats reads the global section's "stats socket", "stats timeout",
// "stats maxconn" and "stats bind-process".
func (p *parser) globalStats(l line) {
	if len(l.args) == 0 {
		p.errorf(nil, l.num, "'stats' wants socket, timeout or maxconn, e.g. 'stats socket /run/haproxy/admin.sock mode 660 level admin'")
		return
	}
	switch sub, args := l.args[0], l.args[1:]; sub {
	case "socket":
		p.statsSocket(l.num, args)
	case "timeout":
		if len(args) != 1 {
			p.errorf(nil, l.num, "'stats timeout' wants one duration, e.g. 'stats timeout 30s'")
			return
		}
		if d, ok := p.durationArg(nil, l.num, "stats timeout", args[0]); ok {
			p.global.StatsTimeout = config.Duration(d)
		}
	case "maxconn":
		p.warnf(nil, l.num, "'%s' ignored: tandem's runtime API takes connections without a limit of its own", l.String())
	case "bind-process":
		p.warnf(nil, l.num, "'%s' ignored: %s", l.String(), whyProcess)
	default:
		p.errorf(nil, l.num, "unknown 'stats %s' in the global section: HAProxy 2.6 has socket, timeout, maxconn and bind-process", sub)
	}
}

// statsSocket reads "stats socket ADDRESS [param*]": the address and the
// bind parameters a runtime API socket has (mode, level); parameters that
// change only who owns the file are warnings, any other an error.
func (p *parser) statsSocket(num int, args []string) {
	if len(args) == 0 {
		p.errorf(nil, num, "'stats socket' wants a path or an address, e.g. 'stats socket /run/haproxy/admin.sock'")
		return
	}
	s := config.StatsSocket{Address: args[0]}
	if _, err := config.ParseSocketAddr(s.Address); err != nil {
		p.errorf(nil, num, "'stats socket %s': %v", s.Address, err)
		return
	}
	rest := args[1:]
	for len(rest) > 0 {
		opt := rest[0]
		val := ""
		n := 1
		if statsSocketArg[opt] {
			if len(rest) < 2 {
				p.errorf(nil, num, "'stats socket %s': '%s' wants a value", s.Address, opt)
				return
			}
			val, n = rest[1], 2
		}
		rest = rest[n:]
		switch opt {
		case "mode":
			s.Mode = val
			if _, err := s.FileMode(); err != nil {
				p.errorf(nil, num, "'stats socket %s': mode %v", s.Address, err)
				return
			}
		case "level":
			if val != "user" && val != "operator" && val != "admin" {
				p.errorf(nil, num, "'stats socket %s': level %q: want user, operator or admin", s.Address, val)
				return
			}
			s.Level = val
		case "user", "group", "uid", "gid":
			p.warnf(nil, num, "'stats socket %s': '%s %s' ignored: the socket file belongs to the agent's user (the .deb's 'tandem'); give access with 'mode'", s.Address, opt, val)
		case "expose-fd":
			p.warnf(nil, num, "'stats socket %s': 'expose-fd %s' ignored: tandem reloads a config without handing listening sockets to a new process", s.Address, val)
		case "process", "thread":
			p.warnf(nil, num, "'stats socket %s': '%s %s' ignored: %s", s.Address, opt, val, whyProcess)
		case "maxconn", "backlog", "name", "id", "nice":
			p.warnf(nil, num, "'stats socket %s': '%s %s' ignored: it only tunes the socket under load", s.Address, opt, val)
		default:
			p.errorf(nil, num, "'stats socket %s': '%s' is not supported on a runtime API socket (tandem reads mode and level; %s)", s.Address, strings.TrimSpace(opt+" "+val), statsSocketWhy)
			return
		}
	}
	for _, o := range p.global.StatsSockets {
		if o.Address == s.Address {
			p.errorf(nil, num, "'stats socket %s' is declared twice", s.Address)
			return
		}
	}
	p.global.StatsSockets = append(p.global.StatsSockets, s)
}

const statsSocketWhy = "TLS, accept-proxy and the like on a stats socket would change who may use it"

// statsSocketArg are the stats socket parameters that take a value.
var statsSocketArg = map[string]bool{
	"mode": true, "level": true, "user": true, "group": true, "uid": true, "gid": true,
	"expose-fd": true, "process": true, "thread": true, "maxconn": true, "backlog": true,
	"name": true, "id": true, "nice": true,
}

// statsURI keeps the first "stats uri" of the sections that only serve
// HAProxy's stats page: tandem's admin API serves its page there.
func (p *parser) statsURI(num int, uri string) {
	switch {
	case p.global.StatsURI == "":
		p.global.StatsURI = uri
		p.warnf(nil, num, "'stats uri %s': tandem's admin API (api_addr in the node settings) serves the stats page at %s and its CSV at %s;csv, not this section's bind", uri, uri, uri)
	case p.global.StatsURI != uri:
		p.warnf(nil, num, "'stats uri %s' ignored: the admin API serves the stats page at %s, the first stats uri", uri, p.global.StatsURI)
	}
}

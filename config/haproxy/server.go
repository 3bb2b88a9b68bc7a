package haproxy

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// server reads "server NAME ADDRESS [options]". A server starts from the
// section's default-server settings.
func (p *parser) server(px *proxy, l line) {
	if len(l.args) < 2 {
		p.errorf(px, l.num, "'server' wants a name and an address, e.g. 'server web1 192.168.1.2:8001 check'")
		return
	}
	s := cloneServer(px.st.server)
	s.Name = l.args[0]
	addr, err := hostPort(l.args[1], false)
	if err != nil {
		p.errorf(px, l.num, "server '%s': %v", s.Name, err)
	}
	s.Address = addr
	p.serverOptions(px, l, &s, l.args[2:])
	for _, other := range px.servers {
		if other.s.Name == s.Name {
			p.errorf(px, l.num, "duplicate server name '%s' in %s (first at line %d)", s.Name, px, other.line)
			return
		}
	}
	px.servers = append(px.servers, serverLine{s: s, line: l.num})
}

// serverLine is a server and the line it is on.
type serverLine struct {
	s    config.Server
	line int
}

// defaultServer reads "default-server [options]": they apply to the server
// lines that follow, in this section (or in every section that follows,
// from a defaults section).
func (p *parser) defaultServer(px *proxy, l line) {
	p.serverOptions(px, l, &px.st.server, l.args)
}

func cloneServer(s config.Server) config.Server {
	if s.Weight != nil {
		s.Weight = ptr(*s.Weight)
	}
	cloneServerCheck(&s)
	return s
}

// serverOptions applies the options of a server or default-server line to
// s, each as its row of serverOpts says.
func (p *parser) serverOptions(px *proxy, l line, s *config.Server, opts []string) {
	ssl := slices.Contains(opts, "ssl") || slices.Contains(opts, "check-ssl")
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		so, ok := serverOpts[o]
		if !ok {
			p.refusef(px, l.num, "unknown server option '%s': HAProxy 2.6 has no such option (tandem does not know what it would do)", o)
			continue
		}
		if i+so.arity >= len(opts) {
			p.errorf(px, l.num, "server option '%s' wants a value", o)
			return
		}
		value := ""
		if so.arity > 0 {
			value = opts[i+1]
		}
		written := joinWords(opts[i : i+1+so.arity])
		i += so.arity
		switch {
		case so.class == mapped:
			so.fn(p, px, l, s, o, value)
		case o == "ws" && value != "auto":
			p.refusef(px, l.num, "server option '%s': HAProxy sends WebSocket requests to this server over that protocol; tandem over HTTP/1.1", written)
		case so.class == refused:
			p.refusef(px, l.num, "server option '%s': %s", written, so.why)
		case so.tls && ssl:
			// ssl itself is refused; its settings say nothing more.
		default:
			p.warnf(px, l.num, "server option '%s' ignored: %s", written, so.why)
		}
	}
	p.finishServerCheck(px, l, s, opts)
}

// serverHandler applies one mapped server option with its value.
type serverHandler func(p *parser, px *proxy, l line, s *config.Server, o, v string)

func serverFlag(p *parser, px *proxy, l line, s *config.Server, o, _ string) {
	switch o {
	case "check", "no-check":
		s.Check = o == "check"
	case "backup", "no-backup":
		s.Backup = o == "backup"
	case "disabled", "enabled":
		s.Disabled = o == "disabled"
	}
}

func serverNumber(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	switch o {
	case "weight":
		if n, ok := p.intArg(px, l.num, o, v, 0, config.MaxWeight); ok {
			s.Weight = &n
		}
	case "maxconn":
		s.MaxConn, _ = p.intArg(px, l.num, o, v, 0, 1<<31-1)
	case "rise":
		s.Rise, _ = p.intArg(px, l.num, o, v, 1, 1<<31-1)
	case "fall":
		s.Fall, _ = p.intArg(px, l.num, o, v, 1, 1<<31-1)
	}
}

func serverCookie(_ *parser, _ *proxy, _ line, s *config.Server, _, v string) { s.Cookie = v }

func serverTime(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	d, ok := p.durationArg(px, l.num, o, v)
	if !ok {
		return
	}
	if d == 0 && o != "slowstart" {
		p.errorf(px, l.num, "'%s' must be greater than 0", o)
		return
	}
	switch o {
	case "inter":
		s.Inter = config.Duration(d)
	case "fastinter":
		s.FastInter = config.Duration(d)
	case "downinter":
		s.DownInter = config.Duration(d)
	case "slowstart":
		s.SlowStart = config.Duration(d)
	}
}

// hostPort checks an HAProxy address and returns it as host:port, with
// brackets around IPv6 addresses ("::1:80" becomes "[::1]:80"). A bind
// address may leave the host empty or write "*"; a server address may not.
func hostPort(addr string, bind bool) (string, error) {
	orig := addr
	for _, pre := range []string{"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"} {
		addr = strings.TrimPrefix(addr, pre)
	}
	if strings.HasPrefix(addr, "/") || strings.Contains(addr, "@") {
		return "", fmt.Errorf("address %q: only TCP host:port addresses are supported", orig)
	}
	var host, port string
	switch n := strings.Count(addr, ":"); {
	case n == 0:
		return "", fmt.Errorf("address %q has no port: tandem needs host:port, e.g. %s:80", orig, addr)
	case strings.HasPrefix(addr, "["):
		var err error
		if host, port, err = net.SplitHostPort(addr); err != nil {
			return "", fmt.Errorf("address %q: want [ipv6]:port", orig)
		}
	default: // HAProxy reads "::1:80" as [::1]:80: the port is after the last colon.
		i := strings.LastIndexByte(addr, ':')
		host, port = addr[:i], addr[i+1:]
		if n > 1 && net.ParseIP(host) == nil {
			return "", fmt.Errorf("address %q: want host:port", orig)
		}
	}
	if err := checkPort(port); err != nil {
		return "", fmt.Errorf("address %q: %w", orig, err)
	}
	if !bind && (host == "" || host == "*") {
		return "", fmt.Errorf("address %q has no host", orig)
	}
	if strings.ContainsAny(host, " \t\r\n/[]") {
		return "", fmt.Errorf("address %q: invalid host", orig)
	}
	return net.JoinHostPort(host, port), nil
}

func checkPort(port string) error {
	switch {
	case port == "":
		return errors.New("missing port")
	case strings.Contains(port, "-"):
		return errors.New("port ranges are not supported")
	case strings.HasPrefix(port, "+"):
		return errors.New("port offsets are not supported")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1-65535", port)
	}
	return nil
}

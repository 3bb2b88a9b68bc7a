package haproxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// server reads "server NAME ADDRESS [options]". A server starts from the
// section's default-server settings.
func (p *parser) server(px *proxy, l line) {
	if len(l.args) < 2 {
		p.errorf(l.num, "'server' wants a name and an address, e.g. 'server web1 192.168.1.2:8001 check'")
		return
	}
	s := cloneServer(px.x.server)
	s.Name = l.args[0]
	addr, err := hostPort(l.args[1], false)
	if err != nil {
		p.errorf(l.num, "server '%s': %v", s.Name, err)
	}
	s.Address = addr
	p.serverOptions(l, &s, l.args[2:])
	if px.be.Server(s.Name) != nil {
		p.errorf(l.num, "duplicate server name '%s' in %s", s.Name, px)
		return
	}
	px.be.Servers = append(px.be.Servers, s)
}

// defaultServer reads "default-server [options]": they apply to the server
// lines that follow, in this section (or in every section that follows,
// from a defaults section).
func (p *parser) defaultServer(px *proxy, l line) {
	p.serverOptions(l, &px.x.server, l.args)
}

func cloneServer(s config.Server) config.Server {
	if s.Weight != nil {
		s.Weight = ptr(*s.Weight)
	}
	return s
}

// serverArity is how many values the HAProxy server options tandem ignores
// take, so that their values are not read as options.
var serverArity = map[string]int{
	"addr": 1, "port": 1, "agent-addr": 1, "agent-inter": 1, "agent-port": 1,
	"agent-send": 1, "alpn": 1, "ca-file": 1, "check-alpn": 1, "check-proto": 1,
	"check-sni": 1, "ciphers": 1, "ciphersuites": 1, "crl-file": 1, "crt": 1,
	"error-limit": 1, "id": 1, "init-addr": 1, "log-proto": 1, "max-reuse": 1,
	"maxqueue": 1, "minconn": 1, "namespace": 1, "npn": 1, "observe": 1,
	"on-error": 1, "on-marked-down": 1, "on-marked-up": 1, "pool-low-conn": 1,
	"pool-max-conn": 1, "pool-purge-delay": 1, "proto": 1, "redir": 1,
	"resolve-net": 1, "resolve-opts": 1, "resolve-prefer": 1, "resolvers": 1,
	"shard": 1, "sni": 1, "source": 1, "ssl-max-ver": 1, "ssl-min-ver": 1,
	"tcp-ut": 1, "track": 1, "verify": 1, "verifyhost": 1, "ws": 1, "guid": 1,
	"curves": 1, "sigalgs": 1, "client-sigalgs": 1, "set-proxy-v2-tlv-fmt": 1,
	"usesrc": 1, "interface": 1, "hash-key": 1, "idle-ping": 1,
}

// serverOptions applies the options of a server or default-server line to s.
func (p *parser) serverOptions(l line, s *config.Server, opts []string) {
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		value := func() (string, bool) {
			if i+1 >= len(opts) {
				p.errorf(l.num, "server option '%s' wants a value", o)
				return "", false
			}
			i++
			return opts[i], true
		}
		switch o {
		case "check", "no-check":
			s.Check = o == "check"
		case "backup", "no-backup":
			s.Backup = o == "backup"
		case "disabled", "enabled":
			s.Disabled = o == "disabled"
		case "weight":
			if v, ok := value(); ok {
				if n, ok := p.intArg(l, o, v, 0, config.MaxWeight); ok {
					s.Weight = &n
				}
			}
		case "maxconn":
			if v, ok := value(); ok {
				s.MaxConn, _ = p.intArg(l, o, v, 0, 1<<31-1)
			}
		case "rise", "fall":
			if v, ok := value(); ok {
				n, _ := p.intArg(l, o, v, 1, 1<<31-1)
				if o == "rise" {
					s.Rise = n
				} else {
					s.Fall = n
				}
			}
		case "inter", "fastinter", "downinter", "slowstart":
			if v, ok := value(); ok {
				p.serverTime(l, s, o, v)
			}
		case "cookie":
			if v, ok := value(); ok {
				s.Cookie = v
			}
		case "port", "addr":
			if _, ok := value(); ok {
				p.warnf(l.num, "server option '%s' is not supported by tandem (ignored): checks go to the server's own address", o)
			}
		default:
			n := serverArity[o]
			p.warnf(l.num, "server option '%s' is not supported by tandem (ignored)", strings.Join(opts[i:min(i+1+n, len(opts))], " "))
			i += n
		}
	}
}

func (p *parser) serverTime(l line, s *config.Server, o, v string) {
	d, ok := p.durationArg(l, o, v)
	if !ok {
		return
	}
	if d == 0 && o != "slowstart" {
		p.errorf(l.num, "'%s' must be greater than 0", o)
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

// bindArity is how many values the bind options tandem ignores take.
var bindArity = map[string]int{
	"alpn": 1, "backlog": 1, "ca-file": 1, "ca-sign-file": 1, "ca-sign-pass": 1,
	"ciphers": 1, "ciphersuites": 1, "crl-file": 1, "crt-list": 1, "curves": 1,
	"ecdhe": 1, "expose-fd": 1, "gid": 1, "group": 1, "id": 1, "interface": 1,
	"level": 1, "maxconn": 1, "mode": 1, "mss": 1, "name": 1, "namespace": 1,
	"nice": 1, "npn": 1, "process": 1, "proto": 1, "severity-output": 1,
	"ssl-max-ver": 1, "ssl-min-ver": 1, "thread": 1, "tls-ticket-keys": 1,
	"uid": 1, "user": 1, "verify": 1, "sigalgs": 1, "client-sigalgs": 1,
	"ocsp-update": 1, "quic-cc-algo": 1, "label": 1, "guid-prefix": 1,
	"idle-ping": 1, "tcp-ut": 1, "accept-netscaler-cip": 1, "ktls": 1,
}

// bind reads "bind ADDRESS[,ADDRESS...] [options]". "ssl crt FILE" becomes
// the frontend's TLS, with FILE as certificate and key (HAProxy's PEM holds
// both).
func (p *parser) bind(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(l.num, "'bind' wants an address, e.g. 'bind *:80'")
		return
	}
	for a := range strings.SplitSeq(l.args[0], ",") {
		addr, err := hostPort(a, true)
		if err != nil {
			p.errorf(l.num, "bind: %v", err)
			continue
		}
		px.fe.Bind = append(px.fe.Bind, addr)
	}
	ssl, crt := false, ""
	opts := l.args[1:]
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; {
		case o == "ssl":
			ssl = true
		case o == "crt" && i+1 < len(opts):
			i++
			if crt != "" {
				p.warnf(l.num, "bind: 'crt %s' is not supported by tandem (ignored): one certificate per frontend", opts[i])
			} else {
				crt = opts[i]
			}
		default:
			n := bindArity[o]
			p.warnf(l.num, "bind option '%s' is not supported by tandem (ignored)", strings.Join(opts[i:min(i+1+n, len(opts))], " "))
			i += n
		}
	}
	switch {
	case ssl && crt == "":
		p.errorf(l.num, "bind: 'ssl' wants 'crt <pem file>' (tandem reads certificate and key from it)")
	case ssl:
		px.fe.TLS = &config.TLS{Cert: crt, Key: crt}
		px.tlsLine = pick(px.tlsLine, l.num)
	case crt != "":
		p.warnf(l.num, "bind: 'crt' without 'ssl' is ignored, as in HAProxy")
		fallthrough
	default:
		px.plainLine = pick(px.plainLine, l.num)
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

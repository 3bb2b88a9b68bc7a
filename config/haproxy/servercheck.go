package haproxy

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// Handlers of the server options about checks (port, addr, check-ssl,
// check-send-proxy, agent-*, observe, error-limit, on-error,
// on-marked-down, on-marked-up) and the PROXY protocol (send-proxy,
// send-proxy-v2, proxy-v2-options, and the bind option accept-proxy).

// cloneServerCheck deep-copies the check options a server line takes
// from its default-server.
func cloneServerCheck(s *config.Server) {
	if s.CheckTLS != nil {
		t := *s.CheckTLS
		s.CheckTLS = &t
	}
	if s.Agent != nil {
		a := *s.Agent
		s.Agent = &a
	}
	if s.Observe != nil {
		o := *s.Observe
		s.Observe = &o
	}
}

func agentOf(s *config.Server) *config.AgentCheck {
	if s.Agent == nil {
		s.Agent = &config.AgentCheck{Off: true}
	}
	return s.Agent
}

func observeOf(s *config.Server) *config.Observe {
	if s.Observe == nil {
		s.Observe = &config.Observe{}
	}
	return s.Observe
}

func serverCheckOpt(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	switch o {
	case "port":
		s.CheckPort, _ = p.intArg(px, l.num, o, v, 1, 65535)
	case "addr", "agent-addr":
		a, err := netip.ParseAddr(v)
		if err != nil {
			p.refusef(px, l.num, "server option '%s %s': HAProxy resolves this name; tandem wants an IP address", o, v)
			return
		}
		if o == "addr" {
			s.CheckAddr = a.String()
		} else {
			agentOf(s).Addr = a.String()
		}
	case "agent-check":
		agentOf(s).Off = false
	case "no-agent-check":
		if s.Agent != nil {
			s.Agent.Off = true
		}
	case "agent-port":
		agentOf(s).Port, _ = p.intArg(px, l.num, o, v, 1, 65535)
	case "agent-inter":
		if d, ok := p.durationArg(px, l.num, o, v); ok {
			agentOf(s).Inter = config.Duration(d)
		}
	case "agent-send":
		agentOf(s).Send = v
	case "check-send-proxy":
		s.CheckSendProxy = true
	case "check-ssl":
		if s.CheckTLS == nil {
			s.CheckTLS = &config.CheckTLS{}
		}
	case "no-check-ssl":
		s.CheckTLS = nil
	case "check-sni", "check-alpn":
		// read with check-ssl in finishServerCheck
	default:
		serverReaction(p, px, l, s, o, v)
	}
}

// serverReaction reads observe, error-limit, on-error, on-marked-down and
// on-marked-up.
func serverReaction(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	switch o {
	case "observe":
		switch v {
		case "layer4":
			observeOf(s).Layer = config.ObserveLayer4
		case "layer7":
			observeOf(s).Layer = config.ObserveLayer7
		case "none":
			if s.Observe != nil {
				s.Observe.Layer = 0
			}
		default:
			p.errorf(px, l.num, "server option 'observe %s': want layer4, layer7 or none", v)
		}
	case "error-limit":
		observeOf(s).ErrorLimit, _ = p.intArg(px, l.num, o, v, 1, 1<<31-1)
	case "on-error":
		var a config.OnError
		if err := a.UnmarshalText([]byte(v)); err != nil || a == config.OnErrorUnset {
			p.errorf(px, l.num, "server option 'on-error %s': want fastinter, fail-check, sudden-death or mark-down", v)
			return
		}
		observeOf(s).OnError = a
	case "on-marked-down":
		if v != "shutdown-sessions" {
			p.errorf(px, l.num, "server option 'on-marked-down %s': want shutdown-sessions", v)
			return
		}
		s.ShutdownOnDown = true
	case "on-marked-up":
		if v != "shutdown-backup-sessions" {
			p.errorf(px, l.num, "server option 'on-marked-up %s': want shutdown-backup-sessions", v)
			return
		}
		s.ShutdownBackupsOnUp = true
	}
}

func serverProxyOpt(p *parser, px *proxy, l line, s *config.Server, o, v string) {
	switch o {
	case "send-proxy":
		s.SendProxy = config.ProxyV1
	case "send-proxy-v2":
		s.SendProxy = config.ProxyV2
	case "no-send-proxy":
		if s.SendProxy == config.ProxyV1 {
			s.SendProxy = config.ProxyNone
		}
	case "no-send-proxy-v2":
		if s.SendProxy == config.ProxyV2 {
			s.SendProxy = config.ProxyNone
		}
	case "proxy-v2-options":
		for opt := range strings.SplitSeq(v, ",") {
			switch opt {
			case "authority":
				s.ProxyV2Authority = true
			case "crc32c":
				s.ProxyV2CRC32C = true
			case "ssl", "cert-cn", "ssl-cipher", "cert-sig", "cert-key", "unique-id":
				p.refusef(px, l.num, "server option 'proxy-v2-options %s': HAProxy adds the %s TLV to the PROXY header; tandem sends ALPN, authority and CRC32C TLVs only", v, opt)
			default:
				p.errorf(px, l.num, "server option 'proxy-v2-options': unknown option '%s' (HAProxy 2.6 has ssl, cert-cn, ssl-cipher, cert-sig, cert-key, authority, crc32c, unique-id)", opt)
			}
		}
	}
}

// finishServerCheck settles what a server line's check options mean
// together: agent settings without agent-check are dropped, an agent
// needs a port, observe settings without observe are dropped, and
// check-ssl takes check-sni, check-alpn, verify and ca-file.
func (p *parser) finishServerCheck(px *proxy, l line, s *config.Server, opts []string) {
	if ct := s.CheckTLS; ct != nil {
		for i := 0; i+1 < len(opts); i++ {
			switch opts[i] {
			case "check-sni":
				ct.SNI = opts[i+1]
			case "check-alpn":
				ct.ALPN = opts[i+1]
			case "ca-file":
				ct.CAFile = p.crtPath(opts[i+1])
			case "verify":
				if opts[i+1] == "none" {
					ct.CAFile = ""
				} else if !slices.Contains(opts, "ca-file") && ct.CAFile == "" {
					p.errorf(px, l.num, "server option 'verify %s' with check-ssl wants a 'ca-file' (HAProxy refuses it too)", opts[i+1])
				}
			}
		}
	}
	if l.kw != "server" {
		return // default-server: its servers settle it
	}
	if a := s.Agent; a != nil {
		switch {
		case a.Off:
			s.Agent = nil
		case a.Port == 0:
			p.errorf(px, l.num, "server option 'agent-check' wants 'agent-port <port>' (HAProxy refuses it too)")
			s.Agent = nil
		}
	}
	if o := s.Observe; o != nil && o.Layer == 0 {
		s.Observe = nil
	}
	if s.Observe != nil && !s.Check {
		p.warnf(px, l.num, "server option 'observe' ignored: the server has no 'check' (HAProxy ignores it too)")
		s.Observe = nil
	}
}

// bindProxyOption reads accept-proxy.
func bindProxyOption(_ *parser, _ *proxy, _ line, b *bindState, _, _ string) { b.proxy = true }

// acceptProxyOf is a frontend's accept_proxy: every bind of it has
// accept-proxy, or none does (tandem reads PROXY headers per frontend).
func (p *parser) acceptProxyOf(px *proxy, binds []bindLine) *config.AcceptProxy {
	with := 0
	for _, b := range binds {
		if b.proxy {
			with++
		}
	}
	if with == 0 {
		return nil
	}
	if with != len(binds) {
		for _, b := range binds {
			if !b.proxy {
				p.refusef(px, b.line, "bind %s has no accept-proxy while other binds of %s do: HAProxy reads PROXY headers per bind line; tandem per frontend (put the two kinds of binds in two frontends)", b.addr, px)
				break
			}
		}
	}
	return &config.AcceptProxy{}
}

package haproxy

import (
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// checkRules gathers a section's "option httpchk" and "http-check" lines.
// They are combined at the end of the section (buildCheck), because HAProxy
// accepts them in any order.
type checkRules struct {
	base       *config.HealthCheck // from option httpchk; nil: none
	send       config.HealthCheck  // http-check send: non-empty fields override base
	expect     []int               // http-check expect status
	disable404 bool                // http-check disable-on-404
	ruleLine   int                 // the first http-check line
}

func (r checkRules) clone() checkRules {
	if r.base != nil {
		b := *r.base
		r.base = &b
	}
	r.expect = append([]int(nil), r.expect...)
	return r
}

// optionHTTPChk reads the arguments of "option httpchk": none (OPTIONS /
// HTTP/1.0), <uri>, <method> <uri>, or <method> <uri> <version>. The
// version may carry headers the old way, "HTTP/1.1\r\nHost:\ www"; the Host
// header becomes the check's Host.
func (p *parser) optionHTTPChk(px *proxy, l line, args []string) {
	if l.neg {
		px.x.check.base = nil
		return
	}
	hc := &config.HealthCheck{
		Type:    config.CheckHTTP,
		Method:  config.DefaultCheckMethod,
		Path:    config.DefaultCheckPath,
		Version: config.DefaultCheckVersion,
	}
	switch len(args) {
	case 0:
	case 1:
		hc.Path = args[0]
	case 2:
		hc.Method, hc.Path = args[0], args[1]
	case 3:
		hc.Method, hc.Path = args[0], args[1]
		hc.Version, hc.Host = p.versionHeaders(l, args[2])
	default:
		p.errorf(l.num, "'option httpchk' wants at most a method, a uri and a version (got %d arguments)", len(args))
		return
	}
	px.x.check.base = hc
}

// versionHeaders splits "HTTP/1.1\r\nHost: www\r\n..." into the version
// and the Host header, and warns about any other header.
func (p *parser) versionHeaders(l line, v string) (version, host string) {
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
			p.errorf(l.num, "'option httpchk': header %q has no ':'", h)
		case strings.EqualFold(strings.TrimSpace(name), "host"):
			host = strings.TrimSpace(value)
		default:
			p.warnf(l.num, "check header '%s' is not supported by tandem (ignored): only Host is sent", strings.TrimSpace(name))
		}
	}
	return version, host
}

// httpCheck reads "http-check send|expect|disable-on-404 ...".
func (p *parser) httpCheck(px *proxy, l line) {
	r := &px.x.check
	r.ruleLine = pick(r.ruleLine, l.num)
	if len(l.args) == 0 {
		p.errorf(l.num, "'http-check' wants a rule: send, expect or disable-on-404")
		return
	}
	switch rule, args := l.args[0], l.args[1:]; rule {
	case "disable-on-404":
		r.disable404 = true
	case "send":
		p.httpCheckSend(l, r, args)
	case "expect":
		p.httpCheckExpect(l, r, args)
	default:
		p.unsupported(l, "http-check "+rule)
	}
}

// httpCheckSend reads "http-check send meth M uri U ver V hdr Host H".
func (p *parser) httpCheckSend(l line, r *checkRules, args []string) {
	for i := 0; i < len(args); i++ {
		o := args[i]
		n := 1
		if o == "hdr" {
			n = 2
		}
		if i+n >= len(args) {
			p.errorf(l.num, "'http-check send %s' wants %d value(s)", o, n)
			return
		}
		v := args[i+1]
		switch o {
		case "meth":
			r.send.Method = v
		case "uri":
			r.send.Path = v
		case "ver":
			r.send.Version = v
		case "hdr":
			if strings.EqualFold(v, "host") {
				r.send.Host = args[i+2]
			} else {
				p.warnf(l.num, "check header '%s' is not supported by tandem (ignored): only Host is sent", v)
			}
		case "uri-lf", "body", "body-lf", "comment":
			p.warnf(l.num, "'http-check send %s' is not supported by tandem (ignored)", o)
		default:
			p.errorf(l.num, "unknown 'http-check send' argument '%s' (want meth, uri, ver or hdr)", o)
			return
		}
		i += n
	}
}

// expectOptions are the "http-check expect" options before the match, with
// how many values each takes.
var expectOptions = map[string]int{
	"min-recv": 1, "comment": 1, "ok-status": 1, "error-status": 1,
	"tout-status": 1, "on-success": 1, "on-error": 1, "status-code": 1,
}

// httpCheckExpect reads "http-check expect status 200[,301-302...]".
func (p *parser) httpCheckExpect(l line, r *checkRules, args []string) {
	for len(args) > 0 {
		n, ok := expectOptions[args[0]]
		if !ok {
			break
		}
		p.warnf(l.num, "'http-check expect %s' is not supported by tandem (ignored)", args[0])
		args = args[min(n+1, len(args)):]
	}
	if len(args) > 0 && args[0] == "!" {
		p.warnf(l.num, "'http-check expect !' is not supported by tandem (ignored): any 2xx or 3xx is healthy")
		return
	}
	if len(args) == 0 {
		p.errorf(l.num, "'http-check expect' wants a match, e.g. 'http-check expect status 200'")
		return
	}
	if args[0] != "status" {
		p.warnf(l.num, "'http-check expect %s' is not supported by tandem (ignored): only 'status' is, and any 2xx or 3xx is healthy without it", args[0])
		return
	}
	if len(args) != 2 {
		p.errorf(l.num, "'http-check expect status' wants one value, e.g. 200 or 200,301-302")
		return
	}
	codes, ok := p.statusCodes(l, args[1])
	if ok {
		r.expect = append(r.expect, codes...)
	}
}

// statusCodes parses "200", "200,301" or "200-299".
func (p *parser) statusCodes(l line, s string) ([]int, bool) {
	var codes []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil || a < 100 || b > 599 || a > b {
			p.errorf(l.num, "'http-check expect status %s': want HTTP status codes 100-599, e.g. 200 or 200,301-302", s)
			return nil, false
		}
		for c := a; c <= b; c++ {
			codes = append(codes, c)
		}
	}
	return codes, true
}

// buildCheck combines a backend's check rules into its HealthCheck.
func (p *parser) buildCheck(px *proxy) *config.HealthCheck {
	r := px.x.check
	if r.base == nil {
		if r.ruleLine > 0 {
			p.warnf(r.ruleLine, "'http-check' ignored: %s has no 'option httpchk'", px)
		}
		return nil
	}
	hc := *r.base
	hc.Method = pick(r.send.Method, hc.Method)
	hc.Path = pick(r.send.Path, hc.Path)
	hc.Version = pick(r.send.Version, hc.Version)
	hc.Host = pick(r.send.Host, hc.Host)
	hc.ExpectStatus = append([]int(nil), r.expect...)
	if len(hc.ExpectStatus) == 0 {
		hc.ExpectStatus = nil
	}
	hc.DisableOn404 = r.disable404
	return &hc
}

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
	expectLine int                 // the first http-check expect status line
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
func (p *parser) optionHTTPChk(px *proxy, l line) {
	args := l.args[1:]
	px.st.mark("health_check", l.num)
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
		hc.Version, hc.Host = p.versionHeaders(px, l, args[2])
	default:
		p.errorf(px, l.num, "'option httpchk' wants at most a method, a uri and a version (got %d arguments)", len(args))
		return
	}
	px.st.check.base = hc
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
			p.refusef(px, l.num, "'option httpchk': HAProxy sends header '%s' with each check; tandem sends only Host", strings.TrimSpace(name))
		}
	}
	return version, host
}

// httpCheck reads "http-check send|expect|disable-on-404 ...".
func (p *parser) httpCheck(px *proxy, l line) {
	r := &px.st.check
	r.ruleLine = pick(r.ruleLine, l.num)
	switch rule, args := l.args[0], l.args[1:]; rule {
	case "disable-on-404":
		r.disable404 = true
	case "send":
		p.httpCheckSend(px, l, r, args)
	case "expect":
		p.httpCheckExpect(px, l, r, args)
	}
}

// httpCheckSend reads "http-check send meth M uri U ver V hdr Host H".
func (p *parser) httpCheckSend(px *proxy, l line, r *checkRules, args []string) {
	for i := 0; i < len(args); i++ {
		o := args[i]
		n := 1
		if o == "hdr" {
			n = 2
		}
		if i+n >= len(args) {
			p.errorf(px, l.num, "'http-check send %s' wants %d value(s)", o, n)
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
				p.refusef(px, l.num, "'http-check send hdr %s': HAProxy sends this header with each check; tandem sends only Host", v)
			}
		case "comment":
		case "uri-lf", "body", "body-lf":
			p.refusef(px, l.num, "'http-check send %s': HAProxy sends this with each check; tandem sends a method, a path, a version and Host only", o)
		default:
			p.errorf(px, l.num, "unknown 'http-check send' argument '%s' (want meth, uri, ver or hdr)", o)
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
func (p *parser) httpCheckExpect(px *proxy, l line, r *checkRules, args []string) {
	for len(args) > 0 {
		n, ok := expectOptions[args[0]]
		if !ok {
			break
		}
		if args[0] != "comment" {
			p.refusef(px, l.num, "'http-check expect %s': HAProxy changes what a check result means with it; tandem does not", args[0])
		}
		args = args[min(n+1, len(args)):]
	}
	if len(args) == 0 {
		p.errorf(px, l.num, "'http-check expect' wants a match, e.g. 'http-check expect status 200'")
		return
	}
	if args[0] == "!" || args[0] != "status" {
		p.refusef(px, l.num, "'http-check expect %s': HAProxy judges checks by this match; tandem by the status code only ('http-check expect status')", joinWords(args))
		return
	}
	if len(args) != 2 {
		p.errorf(px, l.num, "'http-check expect status' wants one value, e.g. 200 or 200,301-302")
		return
	}
	if codes, ok := p.statusCodes(px, l, args[1]); ok {
		r.expect = append(r.expect, codes...)
		r.expectLine = pick(r.expectLine, l.num)
	}
}

// statusCodes parses "200", "200,301" or "200-299".
func (p *parser) statusCodes(px *proxy, l line, s string) ([]int, bool) {
	var codes []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil || a < 100 || b > 599 || a > b {
			p.errorf(px, l.num, "'http-check expect status %s': want HTTP status codes 100-599, e.g. 200 or 200,301-302", s)
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
	r := px.st.check
	if r.base == nil {
		if r.ruleLine > 0 {
			p.warnf(px, r.ruleLine, "'http-check' ignored: %s has no 'option httpchk' (HAProxy ignores it too)", px)
		}
		return nil
	}
	hc := *r.base
	hc.Method = pick(r.send.Method, hc.Method)
	hc.Path = pick(r.send.Path, hc.Path)
	hc.Version = pick(r.send.Version, hc.Version)
	hc.Host = pick(r.send.Host, hc.Host)
	if len(r.expect) > 0 {
		hc.ExpectStatus = append([]int(nil), r.expect...)
	}
	hc.DisableOn404 = r.disable404
	return &hc
}

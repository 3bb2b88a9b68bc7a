package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// Logging directives (configuration.txt 3.1 "log", 4.2 "log", "log-format",
// "capture", options httplog/tcplog/httpslog/dontlognull/log-separate-errors,
// and section 8) map to config's Logging: a frontend gets its whole
// effective logging (what its defaults section gave it, then its own lines),
// so the YAML says where each frontend logs without inheritance rules.

// logTarget reads "log ADDRESS [len N] [format F] [sample R:S] FACILITY
// [LEVEL [MINLEVEL]]" (or "log global").
func (p *parser) logTarget(px *proxy, l line) (config.LogTarget, bool) {
	args := l.args
	if len(args) == 0 {
		p.errorf(px, l.num, "'log' wants an address and a facility, e.g. 'log /dev/log local0', or 'log global'")
		return config.LogTarget{}, false
	}
	t := config.LogTarget{Address: args[0]}
	if t.Address == "global" {
		if len(args) > 1 {
			p.errorf(px, l.num, "'log global' takes nothing after it")
			return t, false
		}
		return t, true
	}
	args = args[1:]
	for len(args) >= 2 {
		switch args[0] {
		case "len":
			n, err := strconv.Atoi(args[1])
			if err != nil {
				p.errorf(px, l.num, "'log ... len %s': want a number", args[1])
				return t, false
			}
			t.Len = n
		case "format":
			t.Format = args[1]
		case "sample":
			p.refusef(px, l.num, "'log ... sample %s': HAProxy sends only a sample of the lines; tandem sends them all", args[1])
		default:
			goto levels
		}
		args = args[2:]
	}
levels:
	if len(args) == 0 || len(args) > 3 {
		p.errorf(px, l.num, "'log %s' wants a facility, and optionally a level and a minimum level", t.Address)
		return t, false
	}
	t.Facility = args[0]
	if len(args) > 1 {
		t.Level = args[1]
	}
	if len(args) > 2 {
		t.MinLevel = args[2]
	}
	return t, true
}

// globalLog reads a global "log" line: a target "log global" refers to.
func (p *parser) globalLog(l line) {
	if t, ok := p.logTarget(nil, l); ok && t.Address != "global" {
		p.global.Log = append(p.global.Log, t)
	}
}

func (p *parser) globalLogTag(l line) {
	if len(l.args) != 1 {
		p.errorf(nil, l.num, "'log-tag' wants one name")
		return
	}
	p.global.LogTag = l.args[0]
}

func (p *parser) globalLogSendHostname(l line) {
	p.global.LogSendHostname = true
	if len(l.args) > 0 {
		p.global.LogHostname = l.args[0]
	}
}

// proxyLog reads a proxy's "log" line, or "no log" (the targets inherited
// from defaults are dropped).
func (p *parser) proxyLog(px *proxy, l line) {
	if px.kind == kindBackend {
		p.warnf(px, l.num, "'%s' ignored: tandem writes a request's log line with its frontend's targets (HAProxy uses a backend's only for its health-check and state logs)", l.String())
		return
	}
	if l.neg {
		px.st.logging.Log = nil
		return
	}
	if t, ok := p.logTarget(px, l); ok {
		px.st.mark(fmt.Sprintf("log[%d]", len(px.st.logging.Log)), l.num)
		px.st.logging.Log = append(px.st.logging.Log, t)
	}
}

// logFormat reads "log-format STRING" (its words joined by one space, as
// HAProxy joins them); it replaces an option httplog/tcplog before it.
func (p *parser) logFormat(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'log-format' wants a format, e.g. 'log-format \"%%ci:%%cp [%%tr] %%ft %%b/%%s\"'")
		return
	}
	px.st.logging.LogFormat, px.st.logging.LogOption = strings.Join(l.args, " "), config.LogOptionUnset
	px.st.mark("log_format", l.num)
}

func (p *parser) logFormatSD(px *proxy, l line) {
	px.st.logging.LogFormatSD = strings.Join(l.args, " ")
	px.st.mark("log_format_sd", l.num)
}

// logOption reads option httplog [clf], httpslog and tcplog: the last of
// them and log-format wins.
func (p *parser) logOption(px *proxy, l line) {
	if l.neg {
		px.st.logging.LogOption = config.LogOptionUnset
		return
	}
	o := config.LogOptionTCP
	switch l.args[0] {
	case "httplog":
		o = config.LogOptionHTTP
		if len(l.args) > 1 && l.args[1] == "clf" {
			o = config.LogOptionHTTPCLF
		}
	case "httpslog":
		o = config.LogOptionHTTPS
	}
	px.st.logging.LogOption, px.st.logging.LogFormat = o, ""
}

func (p *parser) optionDontLogNull(px *proxy, l line) {
	px.st.logging.DontLogNull = ptr(!l.neg)
}

func (p *parser) optionLogSeparateErrors(px *proxy, l line) {
	px.st.logging.LogSeparateErrors = ptr(!l.neg)
}

// capture reads "capture request header NAME len N", "capture response
// header NAME len N" and "capture cookie NAME len N".
func (p *parser) capture(px *proxy, l line) {
	a := l.args
	var name string
	var list *[]config.HeaderCapture
	switch {
	case len(a) == 5 && a[0] == "request" && a[1] == "header" && a[3] == "len":
		name, list = a[2], &px.st.captures.CaptureRequestHeaders
	case len(a) == 5 && a[0] == "response" && a[1] == "header" && a[3] == "len":
		name, list = a[2], &px.st.captures.CaptureResponseHeaders
	case len(a) == 4 && a[0] == "cookie" && a[2] == "len":
		name = a[1]
	default:
		p.errorf(px, l.num, "'capture' wants 'request header NAME len N', 'response header NAME len N' or 'cookie NAME len N'")
		return
	}
	n, err := strconv.Atoi(a[len(a)-1])
	if err != nil || n <= 0 {
		p.errorf(px, l.num, "'capture ... len %s': want a positive number", a[len(a)-1])
		return
	}
	c := config.HeaderCapture{Name: name, Len: n}
	if list == nil {
		px.st.captures.CaptureCookie = &c
		return
	}
	*list = append(*list, c)
}

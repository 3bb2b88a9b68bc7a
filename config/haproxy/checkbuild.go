package haproxy

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// expectOptions are the "expect" options before the match, with how many
// values each takes.
var expectOptions = map[string]int{
	"min-recv": 1, "comment": 1, "ok-status": 1, "error-status": 1,
	"tout-status": 1, "on-success": 1, "on-error": 1, "status-code": 1,
}

// checkExpect reads "expect [options] [!] MATCH PATTERN" of tcp-check
// (string, rstring, binary, rbinary) or http-check (status, rstatus,
// string, rstring).
func (p *parser) checkExpect(px *proxy, l line, args []string, http bool) (*config.CheckExpect, string, bool) {
	e := &config.CheckExpect{}
	comment := ""
	for len(args) > 0 {
		n, isOpt := expectOptions[args[0]]
		if !isOpt {
			break
		}
		if len(args) < n+1 {
			p.errorf(px, l.num, "'%s expect %s' wants a value", l.kw, args[0])
			return nil, "", false
		}
		if !p.expectOption(px, l, e, &comment, args[0], args[1]) {
			return nil, "", false
		}
		args = args[n+1:]
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "!") {
		e.Not = true
		if args[0] == "!" {
			args = args[1:]
		} else {
			args = append([]string{args[0][1:]}, args[1:]...)
		}
	}
	if len(args) == 0 {
		p.errorf(px, l.num, "'%s expect' wants a match, e.g. '%s'", l.kw, map[bool]string{true: "http-check expect status 200", false: "tcp-check expect string +PONG"}[http])
		return nil, "", false
	}
	match, ok := p.expectMatch(px, l, args[0], http)
	if !ok {
		return nil, "", false
	}
	if len(args) != 2 {
		p.errorf(px, l.num, "'%s expect %s' wants one pattern (got %d words; escape spaces with '\\ ')", l.kw, args[0], len(args)-1)
		return nil, "", false
	}
	e.Match, e.Pattern = match, args[1]
	if msg := expectPatternError(e); msg != "" {
		p.errorf(px, l.num, "'%s expect %s %s': %s", l.kw, args[0], args[1], msg)
		return nil, "", false
	}
	return e, comment, true
}

func (p *parser) expectOption(px *proxy, l line, e *config.CheckExpect, comment *string, o, v string) bool {
	valid := map[string][]string{
		"ok-status": {"L7OK", "L7OKC", "L6OK", "L4OK"}, "error-status": {"L7OKC", "L7RSP", "L7STS", "L6RSP", "L4CON"},
		"tout-status": {"L7TOUT", "L6TOUT", "L4TOUT"},
	}
	switch o {
	case "min-recv":
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			p.errorf(px, l.num, "'%s expect min-recv %s': want -1 or a number of bytes", l.kw, v)
			return false
		}
		e.MinRecv = &n
	case "comment":
		*comment = v
	case "ok-status", "error-status", "tout-status":
		if !slices.Contains(valid[o], v) {
			p.errorf(px, l.num, "'%s expect %s %s': want one of %s", l.kw, o, v, strings.Join(valid[o], ", "))
			return false
		}
		switch o {
		case "ok-status":
			e.OKStatus = v
		case "error-status":
			e.ErrorStatus = v
		default:
			e.TimeoutStatus = v
		}
	case "on-success", "on-error":
		if strings.Contains(v, "%") {
			p.refusef(px, l.num, "'%s expect %s %s': HAProxy evaluates this log-format message; tandem reports it as written (without %%)", l.kw, o, v)
			return false
		}
		if o == "on-success" {
			e.OnSuccess = v
		} else {
			e.OnError = v
		}
	case "status-code":
		p.refusef(px, l.num, "'%s expect status-code %s': HAProxy sets the check's status code from this expression; tandem reports the code it read", l.kw, v)
		return false
	}
	return true
}

func (p *parser) expectMatch(px *proxy, l line, m string, http bool) (config.ExpectMatch, bool) {
	switch {
	case m == "string":
		return config.MatchString, true
	case m == "rstring":
		return config.MatchRString, true
	case m == "binary" && !http:
		return config.MatchBinary, true
	case m == "rbinary" && !http:
		return config.MatchRBinary, true
	case m == "status" && http:
		return config.MatchStatus, true
	case m == "rstatus" && http:
		return config.MatchRStatus, true
	case m == "string-lf" || m == "binary-lf" && !http:
		p.refusef(px, l.num, "'%s expect %s': HAProxy matches the expansion of a log-format string; tandem matches fixed patterns (string, rstring, binary, rbinary)", l.kw, m)
	case (m == "hdr" || m == "fhdr") && http:
		p.refusef(px, l.num, "'http-check expect %s': HAProxy matches response headers; tandem matches the status and the body (status, rstatus, string, rstring)", m)
	default:
		want := "string, rstring, binary or rbinary"
		if http {
			want = "status, rstatus, string, rstring, hdr or fhdr"
		}
		p.errorf(px, l.num, "unknown '%s expect' match '%s' (want %s)", l.kw, m, want)
	}
	return 0, false
}

// expectPatternError says why a pattern cannot be matched, or "".
func expectPatternError(e *config.CheckExpect) string {
	switch e.Match {
	case config.MatchRString, config.MatchRBinary, config.MatchRStatus:
		if _, err := regexp.Compile(e.Pattern); err != nil {
			return "the regular expression does not compile in Go's RE2 syntax (HAProxy uses PCRE; lookarounds and backreferences have no RE2 equivalent): " + err.Error()
		}
	case config.MatchBinary:
		if _, err := config.DecodeHex(e.Pattern); err != nil {
			return err.Error()
		}
	case config.MatchStatus:
		if _, err := config.ParseStatusRanges(e.Pattern); err != nil {
			return err.Error()
		}
	}
	return ""
}

// buildCheck combines a section's check directives into its HealthCheck:
// nil (a TCP connect) without a check option.
func (p *parser) buildCheck(px *proxy) *config.HealthCheck {
	r := px.st.check
	switch {
	case r.typ != config.CheckHTTP && len(r.http) > 0 && r.httpOwn:
		p.warnf(px, r.ruleLine, "'http-check' ignored: %s has no 'option httpchk' (HAProxy ignores it too)", px)
	case r.typ != config.CheckTCP && len(r.tcp) > 0 && r.tcpOwn:
		p.warnf(px, r.tcpLine, "'tcp-check' ignored: %s has no 'option tcp-check' (HAProxy ignores it too)", px)
	}
	switch r.typ {
	case config.CheckUnset:
		return nil
	case config.CheckHTTP:
		return p.buildHTTPCheck(px, &r)
	case config.CheckTCP:
		hc := &config.HealthCheck{Type: config.CheckTCP}
		hc.Steps = p.resolveSteps(px, r.tcp, true)
		return hc
	}
	return &config.HealthCheck{Type: r.typ, CheckRules: config.CheckRules{User: r.user, MySQLPre41: r.pre41, Hello: r.hello}}
}

// buildHTTPCheck is option httpchk with its http-check rules. The option's
// request merges into the first send rule of the same list (the later of
// the two lines overrides the other's method, uri and version, and its
// headers replace the other's, as tcpcheck_add_http_rule does), or is sent
// first when the list has no send; a list of the section's own that the
// option did not start (the option came from defaults) has no request but
// its own sends.
func (p *parser) buildHTTPCheck(px *proxy, r *checkRules) *config.HealthCheck {
	opt := r.opt
	if opt == nil {
		opt = &config.HealthCheck{}
	}
	base := &config.HealthCheck{Type: config.CheckHTTP, DisableOn404: r.disable404}
	steps := p.resolveSteps(px, r.http, false)
	merge := r.opt != nil && (r.optOwn || !r.httpOwn)
	optSend := config.CheckStep{Send: &config.CheckSend{Method: opt.Method, URI: opt.Path, Version: opt.Version}}
	if opt.Host != "" {
		optSend.Send.Headers = []config.CheckHeader{{Name: "Host", Value: opt.Host}}
	}
	first := 0
	if len(steps) > 0 && steps[0].Connect != nil {
		first = 1
	}
	switch {
	case !merge:
	case first < len(steps) && steps[first].Send != nil:
		later, earlier := steps[first].Send, optSend.Send
		if r.optLineAfter(px, r.http) {
			later, earlier = earlier, later
		}
		steps[first].Send = mergeSend(earlier, later)
	default:
		steps = slices.Insert(steps, first, optSend)
	}
	for _, st := range steps {
		if s := st.Send; s != nil {
			s.Method = pick(s.Method, config.DefaultCheckMethod)
			s.URI = pick(s.URI, config.DefaultCheckPath)
			s.Version = pick(s.Version, config.DefaultCheckVersion)
		}
	}
	if simple, ok := simpleHTTP(base, steps); ok {
		return simple
	}
	base.Steps = steps
	return base
}

// optLineAfter reports whether option httpchk came after the first send
// rule of the list.
func (r *checkRules) optLineAfter(px *proxy, list []checkLine) bool {
	opt := px.st.lines["health_check"]
	for _, cl := range list {
		if cl.step.Send != nil {
			return opt > cl.line
		}
	}
	return false
}

// mergeSend overwrites earlier with what later sets; later's headers
// replace earlier's.
func mergeSend(earlier, later *config.CheckSend) *config.CheckSend {
	m := *earlier
	m.Method = pick(later.Method, m.Method)
	m.URI = pick(later.URI, m.URI)
	m.Version = pick(later.Version, m.Version)
	m.Headers = slices.Clone(later.Headers)
	m.Body = pick(later.Body, m.Body)
	return &m
}

// simpleHTTP writes a check of one request and at most one status expect
// as HealthCheck's plain fields (method, path, version, host, expected
// statuses), as a YAML author would.
func simpleHTTP(base *config.HealthCheck, steps []config.CheckStep) (*config.HealthCheck, bool) {
	if len(steps) == 0 || len(steps) > 2 || steps[0].Send == nil || steps[0].Comment != "" {
		return nil, false
	}
	s := steps[0].Send
	if s.Body != "" || len(s.Headers) > 1 || len(s.Headers) == 1 && !strings.EqualFold(s.Headers[0].Name, "host") {
		return nil, false
	}
	hc := *base
	hc.Method, hc.Path, hc.Version = s.Method, s.URI, s.Version
	if len(s.Headers) == 1 {
		hc.Host = s.Headers[0].Value
	}
	if hc.Version == "HTTP/1.1" && hc.Host == "" {
		return nil, false // HAProxy sends no Host; the simple check would
	}
	if len(steps) == 2 {
		e := steps[1].Expect
		if e == nil || e.Match != config.MatchStatus || e.Not || steps[1].Comment != "" || e.MinRecv != nil ||
			e.OKStatus != "" || e.ErrorStatus != "" || e.TimeoutStatus != "" || e.OnSuccess != "" || e.OnError != "" {
			return nil, false
		}
		ranges, _ := config.ParseStatusRanges(e.Pattern)
		for _, rg := range ranges {
			for c := rg.Lo; c <= rg.Hi; c++ {
				hc.ExpectStatus = append(hc.ExpectStatus, c)
			}
		}
	}
	return &hc, true
}

// resolveSteps turns rule lines into steps: comment rules name the rules
// that follow, as HAProxy assigns them (to the next rules of one kind, or
// the next connect); a connect anywhere but first needs a connect first.
func (p *parser) resolveSteps(px *proxy, list []checkLine, tcp bool) []config.CheckStep {
	var out []config.CheckStep
	comment, prevKind := "", ""
	for _, cl := range list {
		st := cl.step
		kind := stepKind(st)
		if kind != prevKind && prevKind != "comment" {
			comment = ""
		}
		prevKind = kind
		switch kind {
		case "comment":
			comment = st.Comment
			continue
		case "connect":
			st.Comment = pick(st.Comment, comment)
			comment = ""
		default:
			st.Comment = pick(st.Comment, comment)
		}
		if kind == "connect" && len(out) > 0 && out[0].Connect == nil {
			p.errorf(px, cl.line, "'%s connect': the first step must be a 'connect' too (HAProxy refuses this)", map[bool]string{true: "tcp-check", false: "http-check"}[tcp])
		}
		out = append(out, st)
	}
	return out
}

func stepKind(st config.CheckStep) string {
	switch {
	case st.Connect != nil:
		return "connect"
	case st.Send != nil:
		return "send"
	case st.Expect != nil:
		return "expect"
	}
	return "comment"
}

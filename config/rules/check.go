package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Env is what the checker looks names up in: the cluster config around a
// section.
type Env interface {
	// File returns the content of a named file (map, pattern list, error page).
	File(name string) (content string, ok bool)
	HasBackend(name string) bool
	HasServer(backend, server string) bool
	// UserlistGroups returns the group names of a userlist.
	UserlistGroups(name string) (groups []string, ok bool)
}

// Section is the rule text of one frontend or backend, as the cluster
// config holds it.
type Section struct {
	Name    string
	Backend bool // a backend (else a frontend)
	HTTP    bool // mode http
	// ACLs maps a name to its criteria (several lines are OR-ed).
	ACLs                                  map[string][]string
	TCPRequest, HTTPRequest, HTTPResponse []string
	HTTPAfterResponse, Redirect           []string
	UseBackend, UseServer                 []Switch
	ErrorFiles                            map[int]string
	HTTPErrors                            []string
	// ServerSNI are a backend's servers' "sni" expressions, by server.
	ServerSNI map[string]string
}

// Switch is one use_backend or use-server line.
type Switch struct {
	Target     string
	If, Unless string
}

// Program is a section's rules, parsed and checked: what balancer/rules
// compiles.
type Program struct {
	Name    string
	Backend bool
	HTTP    bool
	// InspectDelay is "tcp-request inspect-delay" (0: none).
	InspectDelay  time.Duration
	TCPConnection []*Rule
	TCPSession    []*Rule
	TCPContent    []*Rule
	HTTPRequest   []*Rule
	// Redirect are the "redirect" directives, run after http-request rules.
	Redirect          []*Rule
	HTTPResponse      []*Rule
	HTTPAfterResponse []*Rule
	UseBackend        []*SwitchRule
	UseServer         []*SwitchRule
	ErrorFiles        map[int]*ErrorFile
	// HTTPErrors are the "http-error" answers by status.
	HTTPErrors map[int]*Reply
	// ServerSNI are the servers' sni expressions, by server name.
	ServerSNI map[string]*Expr
}

// SwitchRule is a parsed use_backend or use-server line.
type SwitchRule struct {
	// Name is the target when it is static; Format when it is a log-format
	// whose result names the target at run time.
	Name   string
	Format *LogFormat
	Cond   *Cond
}

// FieldError is a problem at a field of the section ("http_request[3]",
// "acls[is_api]", "use_backend[0].if").
type FieldError struct {
	Field string
	Err   error
}

func (e FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

type aclKey struct {
	name  string
	stage Stage
}

type parser struct {
	env          Env
	stage        Stage
	http         bool
	backend      string // the section's name when it is a backend
	acls         map[string][]string
	aclCache     map[aclKey]*ACL
	aclSyntaxBad map[string]bool
	mapsChecked  map[string]error
	userlist     string // the userlist of the criterion being parsed (groups)
	inCriterion  bool   // parsing an ACL criterion's expression
}

// Check parses and checks every rule of a section. It returns the program
// and every problem found; the program is nil when there are problems.
func Check(sec Section, env Env) (*Program, []FieldError) {
	p := &parser{env: env, http: sec.HTTP, acls: sec.ACLs, aclCache: map[aclKey]*ACL{},
		aclSyntaxBad: map[string]bool{}, mapsChecked: map[string]error{}}
	if sec.Backend {
		p.backend = sec.Name
	}
	var errs []FieldError
	add := func(field string, err error) { errs = append(errs, FieldError{field, err}) }
	prog := &Program{Name: sec.Name, Backend: sec.Backend, HTTP: sec.HTTP}
	p.checkACLs(sec, add)
	fe := func(f, b Stage) Stage {
		if sec.Backend {
			return b
		}
		return f
	}
	p.checkTCP(sec, prog, add)
	if !sec.HTTP {
		for field, lines := range map[string][]string{"http_request": sec.HTTPRequest, "http_response": sec.HTTPResponse,
			"http_after_response": sec.HTTPAfterResponse, "redirect": sec.Redirect} {
			if len(lines) > 0 {
				add(field, errAt(-1, "%s rules need mode http (HAProxy ignores them in mode tcp)", strings.ReplaceAll(field, "_", "-")))
			}
		}
	} else {
		p.stage = fe(StageHTTPRequestFE, StageHTTPRequestBE)
		prog.HTTPRequest = p.rules("http_request", SetHTTPRequest, sec.HTTPRequest, add)
		prog.Redirect = p.rules("redirect", SetRedirect, sec.Redirect, add)
		p.stage = fe(StageHTTPResponseFE, StageHTTPResponseBE)
		prog.HTTPResponse = p.rules("http_response", SetHTTPResponse, sec.HTTPResponse, add)
		prog.HTTPAfterResponse = p.rules("http_after_response", SetHTTPAfterResponse, sec.HTTPAfterResponse, add)
	}
	if sec.Backend {
		if len(sec.UseBackend) > 0 {
			add("use_backend", errAt(-1, "use_backend belongs in a frontend"))
		}
		p.stage = StageUseServer
		prog.UseServer = p.switches("use_server", "server", sec.UseServer, add)
	} else {
		if len(sec.UseServer) > 0 {
			add("use_server", errAt(-1, "use-server belongs in a backend"))
		}
		p.stage = StageUseBackend
		prog.UseBackend = p.switches("use_backend", "backend", sec.UseBackend, add)
	}
	prog.ErrorFiles = p.errorFiles(sec, add)
	prog.HTTPErrors = p.httpErrors(sec, add)
	prog.ServerSNI = p.serverSNI(sec, add)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return nil, errs
	}
	return prog, nil
}

// checkACLs parses every named ACL once for syntax, so that an error in an
// ACL is reported at its own entry even if no rule uses it. Stage checks
// happen where the ACL is used.
func (p *parser) checkACLs(sec Section, add func(string, error)) {
	names := make([]string, 0, len(sec.ACLs))
	for n := range sec.ACLs {
		names = append(names, n)
	}
	sort.Strings(names)
	p.stage = StageHTTPRequestFE
	if sec.Backend {
		p.stage = StageHTTPRequestBE
	}
	saved := p.http
	p.http = true // mode and stage are checked where the ACL is used
	for _, name := range names {
		if !validACLName(name) {
			add("acls["+name+"]", errAt(-1, "ACL names use letters, digits, '-', '_', '.' and ':'"))
			p.aclSyntaxBad[name] = true
			continue
		}
		for i, line := range sec.ACLs[name] {
			field := "acls[" + name + "]"
			if len(sec.ACLs[name]) > 1 {
				field += "[" + strconv.Itoa(i) + "]"
			}
			words, err := Split(line)
			if err == nil {
				_, err = p.parseCriterion(words)
			}
			if err != nil && !isStageError(err) {
				add(field, err)
				p.aclSyntaxBad[name] = true
			}
		}
	}
	p.http = saved
	p.aclCache = map[aclKey]*ACL{}
}

func isStageError(err error) bool {
	e, ok := err.(*Error)
	return ok && strings.Contains(e.Msg, "cannot be used in")
}

func validACLName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// checkTCP sorts tcp-request lines into their rule sets.
func (p *parser) checkTCP(sec Section, prog *Program, add func(string, error)) {
	for i, line := range sec.TCPRequest {
		field := fmt.Sprintf("tcp_request[%d]", i)
		words, err := Split(line)
		if err != nil {
			add(field, err)
			continue
		}
		if len(words) == 0 {
			add(field, errAt(-1, "empty rule"))
			continue
		}
		var set RuleSet
		switch words[0].Text {
		case "inspect-delay":
			if len(words) != 2 {
				add(field, errAt(words[0].Pos, "inspect-delay expects one time, e.g. 5s"))
				continue
			}
			d, err := ParseTime(words[1].Text)
			if err != nil {
				add(field, errAt(words[1].Pos, "%v", plainMsg(err)))
			}
			prog.InspectDelay = d
			continue
		case "connection":
			set, p.stage = SetTCPConnection, StageTCPConnection
		case "session":
			set, p.stage = SetTCPSession, StageTCPSession
		case "content":
			set, p.stage = SetTCPContent, StageTCPContentFE
			if sec.Backend {
				p.stage = StageTCPContentBE
			}
		default:
			add(field, errAt(words[0].Pos, "tcp-request takes connection, session, content or inspect-delay (got %q)", words[0].Text))
			continue
		}
		if sec.Backend && set != SetTCPContent {
			add(field, errAt(words[0].Pos, "tcp-request %s belongs in a frontend", words[0].Text))
			continue
		}
		r := &Rule{Set: set}
		if err := p.parseAction(r, words[1:]); err != nil {
			add(field, err)
			continue
		}
		switch set {
		case SetTCPConnection:
			prog.TCPConnection = append(prog.TCPConnection, r)
		case SetTCPSession:
			prog.TCPSession = append(prog.TCPSession, r)
		default:
			prog.TCPContent = append(prog.TCPContent, r)
		}
	}
}

func (p *parser) rules(field string, set RuleSet, lines []string, add func(string, error)) []*Rule {
	var out []*Rule
	for i, line := range lines {
		f := fmt.Sprintf("%s[%d]", field, i)
		r, err := p.parseRule(set, line)
		if err != nil {
			add(f, err)
			continue
		}
		out = append(out, r)
	}
	return out
}

// ParseRule parses one rule line of a rule set at a stage; tcp-request
// lines start with connection, session or content. It is Check for one
// line, for tests and tools.
func ParseRule(set RuleSet, stage Stage, http bool, line string, acls map[string][]string, env Env) (*Rule, error) {
	p := &parser{env: env, stage: stage, http: http, acls: acls, aclCache: map[aclKey]*ACL{},
		aclSyntaxBad: map[string]bool{}, mapsChecked: map[string]error{}}
	if stage == StageTCPContentBE || stage == StageHTTPRequestBE || stage == StageUseServer || stage == StageHTTPResponseBE {
		p.backend = "backend"
	}
	return p.parseRule(set, line)
}

func (p *parser) parseRule(set RuleSet, line string) (*Rule, error) {
	words, err := Split(line)
	if err != nil {
		return nil, err
	}
	switch set {
	case SetRedirect:
		words = append([]Word{{Text: "redirect", Pos: 0}}, words...)
	case SetTCPConnection, SetTCPSession, SetTCPContent:
		want := map[RuleSet]string{SetTCPConnection: "connection", SetTCPSession: "session", SetTCPContent: "content"}[set]
		if len(words) == 0 || words[0].Text != want {
			return nil, errAt(0, "want a %s rule", set)
		}
		words = words[1:]
	}
	r := &Rule{Set: set}
	if err := p.parseAction(r, words); err != nil {
		return nil, err
	}
	return r, nil
}

func (p *parser) switches(field, what string, sws []Switch, add func(string, error)) []*SwitchRule {
	var out []*SwitchRule
	for i, sw := range sws {
		f := fmt.Sprintf("%s[%d]", field, i)
		sr, ok := &SwitchRule{}, true
		if sw.Target == "" {
			add(f+"."+what, errAt(-1, "required"))
			continue
		}
		lf, err := p.parseLogFormat(sw.Target, 0)
		switch {
		case err != nil:
			add(f+"."+what, err)
			ok = false
		default:
			if name, static := lf.Static(); static {
				sr.Name = name
				if err := p.checkTarget(what, name); err != nil {
					add(f+"."+what, err)
					ok = false
				}
			} else {
				sr.Format = lf
			}
		}
		if sw.If != "" && sw.Unless != "" {
			add(f, errAt(-1, "set if or unless, not both"))
			continue
		}
		if what == "server" && sw.If == "" && sw.Unless == "" {
			add(f, errAt(-1, "use-server needs an if or unless condition"))
			continue
		}
		for _, c := range []struct {
			name, text string
		}{{"if", sw.If}, {"unless", sw.Unless}} {
			if c.text == "" {
				continue
			}
			words, err := Split(c.text)
			if err == nil {
				sr.Cond, err = p.parseCond(c.name == "unless", words, -1)
			}
			if err != nil {
				add(f+"."+c.name, err)
				ok = false
			}
		}
		if ok {
			out = append(out, sr)
		}
	}
	return out
}

func (p *parser) checkTarget(what, name string) error {
	if what == "backend" && !p.env.HasBackend(name) {
		return errAt(-1, "backend %q does not exist", name)
	}
	if what == "server" && !p.env.HasServer(p.backend, name) {
		return errAt(-1, "server %q does not exist in backend %q", name, p.backend)
	}
	return nil
}

func (p *parser) errorFiles(sec Section, add func(string, error)) map[int]*ErrorFile {
	if len(sec.ErrorFiles) == 0 {
		return nil
	}
	out := map[int]*ErrorFile{}
	for code, name := range sec.ErrorFiles {
		f := fmt.Sprintf("errorfiles[%d]", code)
		if err := p.checkErrorStatus(code, -1, "errorfile"); err != nil {
			add(f, err)
			continue
		}
		content, ok := p.env.File(name)
		if !ok {
			add(f, errAt(-1, "file %q is not in the config's files", name))
			continue
		}
		ef, err := ParseErrorFile(content)
		if err != nil {
			add(f, errAt(-1, "file %q: %v", name, err))
			continue
		}
		out[code] = ef
	}
	return out
}

// httpErrors parses "http-error status N ..." lines (configuration.txt
// 4.2 "http-error"): the arguments of return, the status required and one
// HAProxy has an error page for. Their log-formats are evaluated where the
// error happens, request or response.
func (p *parser) httpErrors(sec Section, add func(string, error)) map[int]*Reply {
	if len(sec.HTTPErrors) == 0 {
		return nil
	}
	out := map[int]*Reply{}
	p.stage = StageHTTPRequestFE
	if sec.Backend {
		p.stage = StageHTTPRequestBE
	}
	for i, line := range sec.HTTPErrors {
		f := fmt.Sprintf("http_errors[%d]", i)
		words, err := Split(line)
		if err == nil && (len(words) < 2 || words[0].Text != "status") {
			err = errAt(0, "http-error needs \"status CODE\" first")
		}
		if err != nil {
			add(f, err)
			continue
		}
		r := &Rule{Set: SetHTTPRequest, Action: ActReturn}
		n, err := p.parseReply(r, words, 0)
		if err == nil && n < len(words) {
			err = errAt(words[n].Pos, "unexpected %q in http-error", words[n].Text)
		}
		if err == nil {
			err = p.checkErrorStatus(r.Reply.Status, words[1].Pos, "http-error")
		}
		if err == nil && r.Reply.Body == BodyErrorFiles {
			err = errAt(-1, "http-error cannot use default-errorfiles")
		}
		if err != nil {
			add(f, err)
			continue
		}
		out[r.Reply.Status] = r.Reply
	}
	return out
}

// checkMap parses a map converter's file for its match method and output
// type once per (file, method, type).
func (p *parser) checkMap(file Arg, cd *ConvDef, pos int) error {
	key := file.Text + "\x00" + cd.MapMatch.String() + "\x00" + cd.Out.String()
	if err, done := p.mapsChecked[key]; done {
		return err
	}
	content, _ := p.env.File(file.Text)
	_, err := ParseMap(content, cd.MapMatch, cd.Out)
	if err != nil {
		err = errAt(pos, "map %q: %v", file.Text, err)
	}
	p.mapsChecked[key] = err
	return err
}

func (p *parser) groupExists(name string) bool {
	groups, _ := p.env.UserlistGroups(p.userlist)
	for _, g := range groups {
		if g == name {
			return true
		}
	}
	return false
}

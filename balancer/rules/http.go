package rules

import (
	crules "github.com/tandem-lb/tandem/config/rules"
)

// HTTPRequest runs a section's http-request rules in order, then its
// redirect directives (http_ana.c http_process_req_common). allow ends
// the http-request rules of this section only: the redirect directives
// still run, and so do the backend's rules. Edits go through ed and show
// in s.In.Req for the rules after them.
func (px *Proxy) HTTPRequest(s *State, ed RequestEditor) Verdict {
	s.captureURI()
	if px.backend {
		s.be = px
	}
	v := Continue
rules:
	for _, r := range px.httpRequest {
		if s.evalCond(r.cond) != triPass {
			continue
		}
		switch r.act {
		case crules.ActAllow:
			v = Accept
			break rules
		case crules.ActReject:
			return Reject
		case crules.ActDeny, crules.ActReturn:
			s.replyFrom(px, r.reply)
			return Respond
		case crules.ActAuth:
			s.authReply(px, r.realm)
			return Respond
		case crules.ActRedirect:
			if s.redirectReply(r.rd, true) {
				return Respond
			}
		default:
			s.editRequest(r, ed)
			s.edited(r.edit)
		}
	}
	for _, r := range px.redirect {
		if s.evalCond(r.cond) == triPass && s.redirectReply(r.rd, true) {
			return Respond
		}
	}
	return v
}

// HTTPResponse runs the http-response rules of the backend, then of the
// frontend (http_ana.c http_process_res_common); allow ends one section's
// rules. be may be nil (the balancer answered before choosing one).
func HTTPResponse(s *State, be, fe *Proxy, ed ResponseEditor) Verdict {
	s.startResponse()
	for _, px := range [2]*Proxy{be, fe} {
		if px == nil {
			continue
		}
		if v := s.responseRules(px, px.httpResponse, ed); v == Respond || v == Reject {
			return v
		}
	}
	return Continue
}

// HTTPAfterResponse runs http-after-response rules, backend then frontend,
// on every response, the balancer's own included (configuration.txt 4.2
// "http-after-response").
func HTTPAfterResponse(s *State, be, fe *Proxy, ed ResponseEditor) {
	s.startResponse()
	for _, px := range [2]*Proxy{be, fe} {
		if px != nil {
			s.responseRules(px, px.httpAfter, ed)
		}
	}
}

// startResponse begins a response stage: a new generation (the core may
// have given another response since), and the req.* variables go.
func (s *State) startResponse() {
	s.newRequest()
	if !s.resStarted {
		s.pruneReqVars()
		s.resStarted = true
	}
}

func (s *State) responseRules(px *Proxy, rs []*rule, ed ResponseEditor) Verdict {
	for _, r := range rs {
		if s.evalCond(r.cond) != triPass {
			continue
		}
		switch r.act {
		case crules.ActAllow:
			return Accept
		case crules.ActDeny, crules.ActReturn:
			s.replyFrom(px, r.reply)
			return Respond
		case crules.ActRedirect:
			if s.redirectReply(r.rd, false) {
				return Respond
			}
		case crules.ActSetStatus:
			ed.SetStatus(r.status, r.reason)
			s.edited(depLine)
		default:
			if !s.editFields(r, s.In.Res, ed, true) {
				s.doVar(r)
			}
			s.edited(r.edit)
		}
	}
	return Continue
}

// doVar runs set-var, set-var-fmt and unset-var; set-var leaves the
// variable as it was when the expression gives nothing (vars.c).
func (s *State) doVar(r *rule) {
	switch r.act {
	case crules.ActSetVar:
		var smp sample
		if s.eval(r.e, &iter{}, &smp) {
			s.setVar(r.slot, r.scope, smp)
		}
	case crules.ActSetVarFmt:
		s.setVar(r.slot, r.scope, strSample(s.render(r.value)))
	case crules.ActUnsetVar:
		s.unsetVar(r.slot, r.scope)
	}
}

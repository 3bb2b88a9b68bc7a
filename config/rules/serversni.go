package rules

// serverSNI parses the backend servers' sni expressions, read when a
// connection to the server is made: in the backend's request stage.
func (p *parser) serverSNI(sec Section, add func(string, error)) map[string]*Expr {
	if len(sec.ServerSNI) == 0 {
		return nil
	}
	p.stage = StageTCPContentBE
	if sec.HTTP {
		p.stage = StageHTTPRequestBE
	}
	out := map[string]*Expr{}
	for name, text := range sec.ServerSNI {
		e, _, err := p.parseExpr(text, 0, 0, 0)
		if err != nil {
			add("servers["+name+"].tls.sni", err)
			continue
		}
		out[name] = e
	}
	return out
}

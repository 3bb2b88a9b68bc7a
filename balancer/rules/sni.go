package rules

// ServerSNI evaluates the sni expression of server i of backend px (in
// config order) for the request s serves: the name a new TLS connection
// to it sends. ok is false when the server has none, or its expression
// gives no value (HAProxy then sends no SNI). The bytes are valid until
// the State is used again.
func (px *Proxy) ServerSNI(s *State, i int) (name []byte, ok bool) {
	if px == nil || i < 0 || i >= len(px.serverSNI) || px.serverSNI[i] == nil || s == nil {
		return nil, false
	}
	var it iter
	var smp sample
	if !s.eval(px.serverSNI[i], &it, &smp) || !s.toStr(&smp) || len(smp.b) == 0 {
		return nil, false
	}
	return smp.b, true
}

// HasServerSNI reports whether some server of the backend names its SNI
// by an expression: its requests need a State even without rules.
func (px *Proxy) HasServerSNI() bool {
	for _, e := range px.serverSNI {
		if e != nil {
			return true
		}
	}
	return false
}

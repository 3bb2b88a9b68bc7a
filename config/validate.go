package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks c (unresolved, as written by the operator) and returns
// Errors listing every problem with its path, or nil. A config that passes
// Validate resolves and runs; nothing is half-applied because of it.
func (c *Cluster) Validate() error {
	var es Errors
	if c.Global.MaxConn < 0 {
		es.add("global.maxconn", "must not be negative (got %d)", c.Global.MaxConn)
	}
	c.Defaults.validate(&es)
	c.Global.Stats.validate(&es)
	if len(c.Frontends) == 0 {
		es.add("frontends", "at least one frontend is required")
	}
	if len(c.Backends) == 0 {
		es.add("backends", "at least one backend is required")
	}
	backendNames := map[string]bool{}
	for i := range c.Backends {
		b := &c.Backends[i]
		path := itemPath("backends", b.Name, i)
		if checkName(&es, path, b.Name) && backendNames[b.Name] {
			es.add(path+".name", "duplicate backend name %q", b.Name)
		}
		backendNames[b.Name] = true
		b.validate(&es, path, c.Defaults)
	}
	frontendNames := map[string]bool{}
	binds := map[string]string{}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		path := itemPath("frontends", f.Name, i)
		if checkName(&es, path, f.Name) && frontendNames[f.Name] {
			es.add(path+".name", "duplicate frontend name %q", f.Name)
		}
		frontendNames[f.Name] = true
		f.validate(&es, path, c, binds)
	}
	for i := range c.Backends {
		for j := range c.Backends[i].Servers {
			b, s := &c.Backends[i], &c.Backends[i].Servers[j]
			sp := itemPath(itemPath("backends", b.Name, i)+".servers", s.Name, j)
			if s.TLS != nil {
				s.TLS.validate(&es, sp+".tls", c)
			} else if s.CheckTLS != nil {
				if t, _ := s.CheckClientTLS(); t != nil {
					t.validate(&es, sp+".check_tls", c)
				}
			}
		}
	}
	c.validateRules(&es)
	c.validateLogging(&es)
	c.validateACME(&es)
	vipNames := map[string]bool{}
	for i := range c.VIPs {
		v := &c.VIPs[i]
		path := itemPath("vips", v.Name, i)
		if checkName(&es, path, v.Name) && vipNames[v.Name] {
			es.add(path+".name", "duplicate vip name %q", v.Name)
		}
		vipNames[v.Name] = true
		if _, err := netip.ParsePrefix(v.Address); err != nil {
			es.add(path+".address", "want an address with prefix length like 10.0.0.100/24 (got %q)", v.Address)
		}
		for _, fe := range v.Frontends {
			if !frontendNames[fe] {
				es.add(path+".frontends", "frontend %q does not exist", fe)
			}
		}
		if v.PreemptDelay < 0 {
			es.add(path+".preempt_delay", "must not be negative")
		}
		v.validateAnnounce(&es, path)
	}
	return es.err()
}

func (d *Defaults) validate(es *Errors) {
	if d.MaxConn < 0 {
		es.add("defaults.maxconn", "must not be negative (got %d)", d.MaxConn)
	}
	checkRetries(es, "defaults.retries", d.Retries)
	d.Check.validate(es, "defaults.check")
}

func (f *Frontend) validate(es *Errors, path string, c *Cluster, binds map[string]string) {
	if len(f.Bind) == 0 {
		es.add(path+".bind", "at least one listen address is required, e.g. \"*:80\"")
	}
	for j, addr := range f.Bind {
		bp := fmt.Sprintf("%s.bind[%d]", path, j)
		norm, err := normalizeBind(addr)
		if err != nil {
			es.add(bp, "%v", err)
			continue
		}
		if other, dup := binds[norm]; dup {
			es.add(bp, "address %s is already bound by frontend %q", addr, other)
		}
		binds[norm] = f.Name
	}
	if f.MaxConn < 0 {
		es.add(path+".maxconn", "must not be negative (got %d)", f.MaxConn)
	}
	mode := pick(f.Mode, pick(c.Defaults.Mode, DefaultMode))
	answers := len(f.HTTPRequest)+len(f.Redirect)+len(f.TCPRequest) > 0
	if f.DefaultBackend == "" && len(f.UseBackend) == 0 && !answers {
		es.add(path+".default_backend", "required (or use_backend rules): the backend that receives this frontend's traffic")
	} else if f.DefaultBackend == "" {
		// Only use_backend rules, or rules that answer (a frontend that
		// redirects everything to https): a request no rule takes gets
		// 503 (a TCP connection is closed), as in HAProxy.
	} else if b := c.Backend(f.DefaultBackend); b == nil {
		es.add(path+".default_backend", "backend %q does not exist", f.DefaultBackend)
	} else if bm := pick(b.Mode, pick(c.Defaults.Mode, DefaultMode)); bm != mode {
		es.add(path+".default_backend", "frontend mode %s cannot use backend %q in mode %s", mode, b.Name, bm)
	}
	if f.TLS != nil {
		f.TLS.validate(es, path+".tls", c, c.ACMEServes(f))
	}
	if al := f.AccessLog; al != nil && al.Format != "" && al.Format != "text" && al.Format != "json" {
		es.add(path+".access_log.format", "want text or json (got %q)", al.Format)
	}
	if f.AcceptProxy != nil {
		f.AcceptProxy.validate(es, path+".accept_proxy")
	}
	switch f.H2C {
	case "", "off":
	case "only":
		if f.TLS != nil {
			es.add(path+".h2c", "only is for clear-text frontends (a TLS frontend negotiates HTTP/2 by ALPN)")
		}
	default:
		es.add(path+".h2c", "want off or only (got %q)", f.H2C)
	}
}

func (b *Backend) validate(es *Errors, path string, d Defaults) {
	mode := pick(b.Mode, pick(d.Mode, DefaultMode))
	if b.Balance == AlgoURI && mode != ModeHTTP {
		es.add(path+".balance", "uri balancing needs mode http")
	}
	checkRetries(es, path+".retries", b.Retries)
	if ck := b.Cookie; ck != nil {
		if mode != ModeHTTP {
			es.add(path+".cookie", "cookie persistence needs mode http")
		}
		if !isToken(ck.Name) {
			es.add(path+".cookie.name", "want a cookie name made of letters, digits and !#$%%&'*+-.^_`|~ (got %q)", ck.Name)
		}
	}
	if b.StickExpire < 0 {
		es.add(path+".stick_expire", "must not be negative")
	}
	if hc := b.HealthCheck; hc != nil {
		hc.validate(es, path+".health_check", mode)
	}
	names := map[string]bool{}
	for j := range b.Servers {
		s := &b.Servers[j]
		sp := itemPath(path+".servers", s.Name, j)
		if checkName(es, sp, s.Name) && names[s.Name] {
			es.add(sp+".name", "duplicate server name %q in backend %q", s.Name, b.Name)
		}
		names[s.Name] = true
		s.validate(es, sp)
		switch s.Proto {
		case "", "h1":
		case "h2":
			if mode != ModeHTTP {
				es.add(sp+".proto", "h2 needs mode http")
			}
		default:
			es.add(sp+".proto", "want h1 or h2 (got %q)", s.Proto)
		}
	}
}

func (hc *HealthCheck) validate(es *Errors, path string, mode Mode) {
	if hc.Type == CheckHTTP && mode == ModeTCP && hc.Path == "" && len(hc.Steps) == 0 {
		es.add(path+".path", "an http check needs a path, e.g. /health")
	}
	if hc.Method != "" && !isToken(hc.Method) {
		es.add(path+".method", "invalid HTTP method %q", hc.Method)
	}
	if hc.Path != "" && (!strings.HasPrefix(hc.Path, "/") || strings.ContainsAny(hc.Path, " \r\n")) {
		es.add(path+".path", "want a path starting with / and without spaces (got %q)", hc.Path)
	}
	if hc.Version != "" && hc.Version != "HTTP/1.0" && hc.Version != "HTTP/1.1" {
		es.add(path+".version", "want HTTP/1.0 or HTTP/1.1 (got %q)", hc.Version)
	}
	if strings.ContainsAny(hc.Host, " \r\n") {
		es.add(path+".host", "invalid Host header value %q", hc.Host)
	}
	for k, code := range hc.ExpectStatus {
		if code < 100 || code > 599 {
			es.add(fmt.Sprintf("%s.expect_status[%d]", path, k), "want an HTTP status 100-599 (got %d)", code)
		}
	}
	hc.CheckTiming.validate(es, path)
	typ := hc.Type
	if typ == CheckUnset {
		typ = CheckTCP
		if hc.Path != "" || hc.Method != "" || mode == ModeHTTP {
			typ = CheckHTTP
		}
	}
	hc.CheckRules.validate(es, path, typ)
}

func (s *Server) validate(es *Errors, path string) {
	if err := checkHostPort(s.Address); err != nil {
		es.add(path+".address", "%v", err)
	}
	if s.Weight != nil && (*s.Weight < 0 || *s.Weight > MaxWeight) {
		es.add(path+".weight", "want 0-%d (got %d)", MaxWeight, *s.Weight)
	}
	if s.MaxConn < 0 {
		es.add(path+".maxconn", "must not be negative (got %d)", s.MaxConn)
	}
	if s.Cookie != "" && !isToken(s.Cookie) {
		es.add(path+".cookie", "invalid cookie value %q", s.Cookie)
	}
	if s.SlowStart < 0 {
		es.add(path+".slowstart", "must not be negative")
	}
	s.CheckTiming.validate(es, path)
	s.ServerCheck.validate(es, path, s.Check)
	s.ServerProxy.validate(es, path)
}

func (t CheckTiming) validate(es *Errors, path string) {
	if t.Rise < 0 {
		es.add(path+".rise", "must be at least 1 (got %d)", t.Rise)
	}
	if t.Fall < 0 {
		es.add(path+".fall", "must be at least 1 (got %d)", t.Fall)
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"inter", t.Inter}, {"fastinter", t.FastInter}, {"downinter", t.DownInter}} {
		if d.v < 0 {
			es.add(path+"."+d.name, "must not be negative")
		} else if d.v != 0 && d.v.D().Milliseconds() < 10 {
			es.add(path+"."+d.name, "must be at least 10ms (got %s)", d.v)
		}
	}
}

func checkRetries(es *Errors, path string, r *int) {
	if r != nil && (*r < 0 || *r > 100) {
		es.add(path, "want 0-100 (got %d)", *r)
	}
}

func checkName(es *Errors, path, name string) bool {
	if name == "" {
		es.add(path+".name", "required")
		return false
	}
	if !nameRE.MatchString(name) {
		es.add(path+".name", "%q: use letters, digits, '.', '_' and '-' (at most 64)", name)
		return false
	}
	return true
}

// itemPath names a list element by its name when it has a usable one
// ("backends[web]") and by index otherwise ("backends[2]").
func itemPath(list, name string, i int) string {
	if name != "" && nameRE.MatchString(name) {
		return list + "[" + name + "]"
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

// checkHostPort checks a server address "host:port".
func checkHostPort(addr string) error {
	if addr == "" {
		return fmt.Errorf("required, e.g. 192.168.1.2:8001")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return fmt.Errorf("missing port in %q, e.g. %s:80", addr, addr)
		}
		return fmt.Errorf("invalid address %q: want host:port", addr)
	}
	if host == "" || host == "*" {
		return fmt.Errorf("missing host in %q", addr)
	}
	return checkPort(addr, port)
}

func checkPort(addr, port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port out of range in %q: want 1-65535", addr)
	}
	return nil
}

// normalizeBind checks a bind address and returns its canonical listen
// form ("*:80" and ":80" become ":80").
func normalizeBind(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid bind address %q: want host:port, *:port or [ipv6]:port", addr)
	}
	if err := checkPort(addr, port); err != nil {
		return "", err
	}
	if host == "*" {
		host = ""
	}
	if host != "" {
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.String()
		} else if strings.ContainsAny(host, " /") {
			return "", fmt.Errorf("invalid host in bind address %q", addr)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// ListenAddr turns a bind address into the form net.Listen takes.
func ListenAddr(bind string) (string, error) { return normalizeBind(bind) }

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 126 || r <= 32 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// ValidName reports whether s is a valid name for a frontend, backend,
// server, VIP or certificate: letters, digits, '.', '_' and '-', at most 64.
func ValidName(s string) bool { return nameRE.MatchString(s) }

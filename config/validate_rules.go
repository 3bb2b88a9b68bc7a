package config

import (
	"fmt"
	"strings"

	"github.com/tandem-lb/tandem/config/rules"
)

// clusterEnv is the cluster config as the rules checker looks names up.
type clusterEnv struct{ c *Cluster }

func (e clusterEnv) File(name string) (string, bool) {
	content, ok := e.c.Files[name]
	return content, ok
}

func (e clusterEnv) HasBackend(name string) bool { return e.c.Backend(name) != nil }

func (e clusterEnv) HasServer(backend, server string) bool {
	b := e.c.Backend(backend)
	return b != nil && b.Server(server) != nil
}

func (e clusterEnv) UserlistGroups(name string) ([]string, bool) {
	for _, ul := range e.c.Userlists {
		if ul.Name == name {
			var groups []string
			for _, g := range ul.Groups {
				groups = append(groups, g.Name)
			}
			return groups, true
		}
	}
	return nil, false
}

// RuleSection is the rule text of a frontend (backend false) or backend in
// the form config/rules checks; balancer/rules compiles the same.
func (c *Cluster) RuleSection(name string, backend bool) (rules.Section, bool) {
	if backend {
		b := c.Backend(name)
		if b == nil {
			return rules.Section{}, false
		}
		return backendSection(b, pick(b.Mode, pick(c.Defaults.Mode, DefaultMode))), true
	}
	for i := range c.Frontends {
		if f := &c.Frontends[i]; f.Name == name {
			return ruleSection(f.Name, false, pick(f.Mode, pick(c.Defaults.Mode, DefaultMode)), f.Rules, f.UseBackend, nil), true
		}
	}
	return rules.Section{}, false
}

// RulesEnv is what rules are checked and compiled against: the config's
// files, backends, servers and userlists.
func (c *Cluster) RulesEnv() rules.Env { return clusterEnv{c} }

// backendSection is a backend's rules with its servers' sni expressions.
func backendSection(b *Backend, mode Mode) rules.Section {
	s := ruleSection(b.Name, true, mode, b.Rules, nil, b.UseServer)
	for _, sv := range b.Servers {
		if sv.TLS != nil && sv.TLS.SNI != "" {
			if s.ServerSNI == nil {
				s.ServerSNI = map[string]string{}
			}
			s.ServerSNI[sv.Name] = sv.TLS.SNI
		}
	}
	return s
}

func ruleSection(name string, backend bool, mode Mode, r Rules, ub []UseBackend, us []UseServer) rules.Section {
	s := rules.Section{
		Name: name, Backend: backend, HTTP: mode == ModeHTTP,
		TCPRequest: r.TCPRequest, HTTPRequest: r.HTTPRequest, HTTPResponse: r.HTTPResponse,
		HTTPAfterResponse: r.HTTPAfterResponse, Redirect: r.Redirect, ErrorFiles: r.ErrorFiles,
		HTTPErrors: r.HTTPErrors,
	}
	if len(r.ACLs) > 0 {
		s.ACLs = make(map[string][]string, len(r.ACLs))
		for n, l := range r.ACLs {
			s.ACLs[n] = l
		}
	}
	for _, u := range ub {
		s.UseBackend = append(s.UseBackend, rules.Switch{Target: u.Backend, If: u.If, Unless: u.Unless})
	}
	for _, u := range us {
		s.UseServer = append(s.UseServer, rules.Switch{Target: u.Server, If: u.If, Unless: u.Unless})
	}
	return s
}

// validateRules checks every frontend's and backend's rules with
// config/rules and reports each problem under its section's path, e.g.
// "frontends[web].http_request[3]: unknown ACL "is_ap"".
func (c *Cluster) validateRules(es *Errors) {
	env := clusterEnv{c}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		path := itemPath("frontends", f.Name, i)
		sec := ruleSection(f.Name, false, pick(f.Mode, pick(c.Defaults.Mode, DefaultMode)), f.Rules, f.UseBackend, nil)
		_, errs := rules.Check(sec, env)
		for _, e := range errs {
			es.add(path+"."+e.Field, "%v", e.Err)
		}
		c.checkUseBackendModes(es, path, f)
	}
	for i := range c.Backends {
		b := &c.Backends[i]
		path := itemPath("backends", b.Name, i)
		sec := backendSection(b, pick(b.Mode, pick(c.Defaults.Mode, DefaultMode)))
		_, errs := rules.Check(sec, env)
		for _, e := range errs {
			es.add(path+"."+e.Field, "%v", e.Err)
		}
	}
	c.validateUserlists(es)
}

// checkUseBackendModes refuses a use_backend whose backend runs in another
// mode than the frontend, as for default_backend.
func (c *Cluster) checkUseBackendModes(es *Errors, path string, f *Frontend) {
	mode := pick(f.Mode, pick(c.Defaults.Mode, DefaultMode))
	for j, u := range f.UseBackend {
		if strings.Contains(u.Backend, "%") {
			continue // named at run time
		}
		if b := c.Backend(u.Backend); b != nil {
			if bm := pick(b.Mode, pick(c.Defaults.Mode, DefaultMode)); bm != mode {
				es.add(fmt.Sprintf("%s.use_backend[%d].backend", path, j), "frontend mode %s cannot use backend %q in mode %s", mode, b.Name, bm)
			}
		}
	}
}

// validateUserlists checks names, password hash formats (those
// balancer/rules verifies) and group membership.
func (c *Cluster) validateUserlists(es *Errors) {
	seen := map[string]bool{}
	for i, ul := range c.Userlists {
		path := itemPath("userlists", ul.Name, i)
		if checkName(es, path, ul.Name) && seen[ul.Name] {
			es.add(path+".name", "duplicate userlist name %q", ul.Name)
		}
		seen[ul.Name] = true
		users, groups := map[string]bool{}, map[string]bool{}
		for _, g := range ul.Groups {
			groups[g.Name] = true
		}
		for j, u := range ul.Users {
			up := itemPath(path+".users", u.Name, j)
			if u.Name == "" {
				es.add(up+".name", "required")
			}
			if users[u.Name] {
				es.add(up+".name", "duplicate user %q", u.Name)
			}
			users[u.Name] = true
			switch {
			case u.Password != "" && u.InsecurePassword != "":
				es.add(up, "set password or insecure_password, not both")
			case u.Password == "" && u.InsecurePassword == "":
				es.add(up, "set password (a crypt(3) hash) or insecure_password")
			case u.Password != "" && !supportedHash(u.Password):
				es.add(up+".password", "unsupported hash: use SHA-512 ($6$), SHA-256 ($5$) or bcrypt ($2a$, $2b$, $2y$) as mkpasswd or htpasswd -B write them")
			}
			for _, g := range u.Groups {
				if !groups[g] {
					es.add(up+".groups", "group %q does not exist in userlist %q", g, ul.Name)
				}
			}
		}
		for j, g := range ul.Groups {
			for _, u := range g.Users {
				if !users[u] {
					es.add(fmt.Sprintf("%s.groups[%d].users", path, j), "user %q does not exist in userlist %q", u, ul.Name)
				}
			}
		}
	}
}

func supportedHash(h string) bool {
	for _, p := range []string{"$5$", "$6$", "$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(h, p) {
			return true
		}
	}
	return false
}

package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Rules are a frontend's or backend's content rules in HAProxy's own
// language, carried verbatim so that an operator who knows haproxy.cfg reads
// them at once (DESIGN.md, "The HAProxy compatibility contract"). Each
// string is one HAProxy line without its leading keyword:
//
//	acls:
//	  is_api: path_beg /api                       # "acl is_api path_beg /api"
//	  is_static: [path_end .css .js, hdr(host) -i static.example.com]  # OR-ed, as two acl lines
//	http_request:
//	  - redirect scheme https code 301 if !{ ssl_fc }   # "http-request redirect ..."
//	  - set-header X-Forwarded-Proto https if { ssl_fc }
//
// Rules compile once per config version (balancer/rules); the language
// (fetches, matchers, converters, actions) is parsed and checked by
// config/rules when the config is validated.
type Rules struct {
	// ACLs names conditions ("acl NAME CRITERION"); a name with several
	// criteria matches when any of them does, as several acl lines with
	// the same name do in HAProxy.
	ACLs map[string]StringList `yaml:"acls,omitempty" json:"acls,omitempty"`
	// TCPRequest are "tcp-request" lines: "inspect-delay 5s",
	// "content accept if { req.ssl_hello_type 1 }", "connection reject if bad".
	TCPRequest []string `yaml:"tcp_request,omitempty" json:"tcp_request,omitempty"`
	// HTTPRequest are "http-request" lines, evaluated in order.
	HTTPRequest []string `yaml:"http_request,omitempty" json:"http_request,omitempty"`
	// HTTPResponse are "http-response" lines, evaluated in order on
	// responses from servers.
	HTTPResponse []string `yaml:"http_response,omitempty" json:"http_response,omitempty"`
	// HTTPAfterResponse are "http-after-response" lines, evaluated on every
	// response, the balancer's own included.
	HTTPAfterResponse []string `yaml:"http_after_response,omitempty" json:"http_after_response,omitempty"`
	// Redirect are "redirect" directives ("scheme https if !{ ssl_fc }"),
	// evaluated after the http_request rules of the same section, with a
	// static target (not a log-format), as HAProxy does.
	Redirect []string `yaml:"redirect,omitempty" json:"redirect,omitempty"`
	// ErrorFiles replaces the balancer's own answer for a status with a
	// complete HTTP response stored in Cluster.Files ("errorfile 503 FILE").
	ErrorFiles map[int]string `yaml:"errorfiles,omitempty" json:"errorfiles,omitempty"`
	// HTTPErrors are "http-error" lines ("status 503 content-type text/html
	// file maint.html"): the answer for a status, taking precedence over
	// ErrorFiles (in haproxy.cfg the later of the two wins: config import
	// keeps that one).
	HTTPErrors []string `yaml:"http_errors,omitempty" json:"http_errors,omitempty"`
}

// UseBackend is one "use_backend NAME [if|unless COND]" line of a frontend.
// Backend may be a log-format expression ("%[req.hdr(host),lower,map(hosts.map,web)]")
// whose result names the backend at run time.
type UseBackend struct {
	Backend string `yaml:"backend" json:"backend"`
	// If and Unless are HAProxy conditions ("is_api", "!{ ssl_fc } || is_old");
	// at most one is set; neither: always.
	If     string `yaml:"if,omitempty" json:"if,omitempty"`
	Unless string `yaml:"unless,omitempty" json:"unless,omitempty"`
}

// UseServer is one "use-server NAME [if|unless COND]" line of a backend.
type UseServer struct {
	Server string `yaml:"server" json:"server"`
	If     string `yaml:"if,omitempty" json:"if,omitempty"`
	Unless string `yaml:"unless,omitempty" json:"unless,omitempty"`
}

// Userlist is HAProxy's "userlist" section, used by http_auth() and
// "http-request auth".
type Userlist struct {
	Name   string  `yaml:"name" json:"name"`
	Users  []User  `yaml:"users,omitempty" json:"users,omitempty"`
	Groups []Group `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// User is one "user NAME password HASH | insecure-password PASS [groups G,...]".
type User struct {
	Name string `yaml:"name" json:"name"`
	// Password is a crypt(3) hash: SHA-512 ($6$), SHA-256 ($5$) or bcrypt ($2b$ etc.).
	Password string `yaml:"password,omitempty" json:"password,omitempty"`
	// InsecurePassword is a plain-text password.
	InsecurePassword string   `yaml:"insecure_password,omitempty" json:"insecure_password,omitempty"`
	Groups           []string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// Group is one "group NAME [users U,...]".
type Group struct {
	Name  string   `yaml:"name" json:"name"`
	Users []string `yaml:"users,omitempty" json:"users,omitempty"`
}

// StringList is a list of strings that YAML may also write as one string.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// MarshalYAML writes a one-element list as a plain string.
func (l StringList) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0], nil
	}
	return []string(l), nil
}

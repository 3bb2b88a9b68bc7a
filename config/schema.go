package config

// Cluster is the replicated cluster configuration: what `tandem config apply`
// submits and what every LB node serves. Field comments are operator docs.
//
// Inheritance works like HAProxy's: a zero field in a frontend or backend
// takes the value from Defaults, and a zero field there takes the built-in
// default from defaults.go. Resolve makes every value concrete.
type Cluster struct {
	Global    Global     `yaml:"global,omitempty" json:"global,omitempty"`
	Defaults  Defaults   `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	Frontends []Frontend `yaml:"frontends" json:"frontends"`
	Backends  []Backend  `yaml:"backends" json:"backends"`
	VIPs      []VIP      `yaml:"vips,omitempty" json:"vips,omitempty"`
	// Files are named text files that rules reference by name: maps and
	// ACL pattern lists ("map(hosts.map)", "-f bad-ips.lst") and error
	// pages. They are part of the replicated config, so they are edited
	// once, never copied to each node. config import stores each file the
	// haproxy.cfg names under the path written there.
	Files map[string]string `yaml:"files,omitempty" json:"files,omitempty"`
	// Userlists are the users and groups of http_auth() and "http-request auth".
	Userlists []Userlist `yaml:"userlists,omitempty" json:"userlists,omitempty"`
	// ACME gets and renews the TLS frontends' certificates automatically (acme.go).
	ACME *ACME `yaml:"acme,omitempty" json:"acme,omitempty"`
}

// Global holds process-wide settings.
type Global struct {
	// MaxConn caps concurrent client connections over all frontends of a
	// node (HAProxy's global maxconn). 0: DefaultGlobalMaxConn.
	MaxConn int `yaml:"maxconn,omitempty" json:"maxconn,omitempty"`
	// HealthPolicy decides a server's agreed health from the LB nodes'
	// reports: majority (default), any, all.
	HealthPolicy HealthPolicy `yaml:"health_policy,omitempty" json:"health_policy,omitempty"`
	// Stats are HAProxy's operational interfaces: runtime API sockets
	// ("stats socket"), their idle timeout ("stats timeout") and the stats
	// page's URI ("stats uri"); see stats.go.
	Stats `yaml:",inline"`
	// GlobalLogging holds the targets "log global" names (logging.go).
	GlobalLogging `yaml:",inline"`
}

// Defaults are inherited by every frontend and backend that leaves a field
// unset (HAProxy's "defaults" section).
type Defaults struct {
	Mode     Mode      `yaml:"mode,omitempty" json:"mode,omitempty"`
	Balance  Algorithm `yaml:"balance,omitempty" json:"balance,omitempty"`
	MaxConn  int       `yaml:"maxconn,omitempty" json:"maxconn,omitempty"`
	Timeouts Timeouts  `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`
	// Retries is how many times a failed connection attempt is retried
	// (HAProxy's "retries"). nil: DefaultRetries.
	Retries *int `yaml:"retries,omitempty" json:"retries,omitempty"`
	// Redispatch lets the last retry go to another server, breaking
	// persistence (HAProxy's "option redispatch").
	Redispatch *bool `yaml:"redispatch,omitempty" json:"redispatch,omitempty"`
	// ForwardFor adds X-Forwarded-For/-Proto in HTTP mode ("option forwardfor").
	ForwardFor *bool `yaml:"forwardfor,omitempty" json:"forwardfor,omitempty"`
	// Check holds default check timing for every checked server.
	Check CheckTiming `yaml:"check,omitempty" json:"check,omitempty"`
	// Logging is inherited by frontends that set none (logging.go). A
	// pointer, so that Defaults stays comparable.
	*Logging `yaml:",inline"`
}

// Timeouts, HAProxy's "timeout" keywords. Zero: inherit.
type Timeouts struct {
	// Connect bounds establishing a connection to a server.
	Connect Duration `yaml:"connect,omitempty" json:"connect,omitempty"`
	// Client bounds client inactivity (no byte read or written).
	Client Duration `yaml:"client,omitempty" json:"client,omitempty"`
	// Server bounds server inactivity, including waiting for response headers.
	Server Duration `yaml:"server,omitempty" json:"server,omitempty"`
	// HTTPRequest bounds receiving a complete request header (slowloris).
	HTTPRequest Duration `yaml:"http_request,omitempty" json:"http_request,omitempty"`
	// HTTPKeepAlive bounds waiting for the next request on an idle client connection.
	HTTPKeepAlive Duration `yaml:"http_keep_alive,omitempty" json:"http_keep_alive,omitempty"`
	// Queue bounds waiting for a free server slot (maxconn); then 503.
	Queue Duration `yaml:"queue,omitempty" json:"queue,omitempty"`
	// Check bounds one health check (connect + response).
	Check Duration `yaml:"check,omitempty" json:"check,omitempty"`
	// Tunnel bounds inactivity of upgraded (WebSocket) and TCP-mode connections.
	Tunnel Duration `yaml:"tunnel,omitempty" json:"tunnel,omitempty"`
}

// Frontend accepts client connections and hands them to a backend.
type Frontend struct {
	Name string `yaml:"name" json:"name"`
	// Bind lists listen addresses: "127.0.0.1:8080", "*:80", ":80", "[::]:443".
	Bind []string `yaml:"bind" json:"bind"`
	Mode Mode     `yaml:"mode,omitempty" json:"mode,omitempty"`
	// UseBackend picks the backend by the first rule whose condition holds
	// ("use_backend"), in order.
	UseBackend []UseBackend `yaml:"use_backend,omitempty" json:"use_backend,omitempty"`
	// DefaultBackend receives every request/connection no use_backend rule
	// took.
	DefaultBackend string `yaml:"default_backend,omitempty" json:"default_backend,omitempty"`
	// Rules are the frontend's ACLs and tcp-request/http-request/
	// http-response/http-after-response rules.
	Rules `yaml:",inline"`
	// MaxConn caps concurrent connections on this frontend; further clients
	// wait in the kernel's accept queue. 0: Defaults.MaxConn.
	MaxConn  int      `yaml:"maxconn,omitempty" json:"maxconn,omitempty"`
	Timeouts Timeouts `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`
	// ForwardFor overrides Defaults.ForwardFor.
	ForwardFor *bool `yaml:"forwardfor,omitempty" json:"forwardfor,omitempty"`
	// TLS terminates TLS on every bind address; HTTP/2 is offered by ALPN.
	TLS *TLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// AccessLog, when set, writes one line per request/connection.
	AccessLog *AccessLog `yaml:"access_log,omitempty" json:"access_log,omitempty"`
	// AcceptProxy reads a PROXY protocol header first (see proxyproto.go).
	AcceptProxy *AcceptProxy `yaml:"accept_proxy,omitempty" json:"accept_proxy,omitempty"`
	// H2C is HTTP/2 in clear text with prior knowledge on a plain mode
	// http frontend: "" (default) serves a connection that starts with
	// HTTP/2's preface as HTTP/2, as HAProxy 2.6 does; "off" never
	// (HAProxy's option disable-h2-upgrade); "only" serves HTTP/2 only
	// (HAProxy's bind ... proto h2).
	H2C string `yaml:"h2c,omitempty" json:"h2c,omitempty"`
	// Logging and Captures are HAProxy's syslog traffic log (logging.go).
	Logging  `yaml:",inline"`
	Captures `yaml:",inline"`
}

// AccessLog configures per-request logging for a frontend.
type AccessLog struct {
	// Format is "text" (HAProxy-like, default) or "json".
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Path is a file to append to; empty means the agent's standard output.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// Backend is a pool of servers with a balancing algorithm and a health check.
type Backend struct {
	Name    string    `yaml:"name" json:"name"`
	Mode    Mode      `yaml:"mode,omitempty" json:"mode,omitempty"`
	Balance Algorithm `yaml:"balance,omitempty" json:"balance,omitempty"`
	Servers []Server  `yaml:"servers" json:"servers"`
	// HealthCheck configures active checks for servers with Check enabled.
	// nil: servers are TCP-checked only if they set check: true.
	HealthCheck *HealthCheck `yaml:"health_check,omitempty" json:"health_check,omitempty"`
	Retries     *int         `yaml:"retries,omitempty" json:"retries,omitempty"`
	Redispatch  *bool        `yaml:"redispatch,omitempty" json:"redispatch,omitempty"`
	// RetryIdempotent re-sends a GET/HEAD/OPTIONS/PUT/DELETE whose server
	// failed before sending any response byte (HAProxy's
	// "retry-on conn-failure empty-response"). nil: true.
	RetryIdempotent *bool    `yaml:"retry_idempotent,omitempty" json:"retry_idempotent,omitempty"`
	ForwardFor      *bool    `yaml:"forwardfor,omitempty" json:"forwardfor,omitempty"`
	Timeouts        Timeouts `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`
	// Cookie enables cookie persistence (HAProxy's "cookie NAME insert indirect nocache").
	Cookie *Cookie `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	// StickSource keeps a client IP on the server it first reached for
	// StickExpire after its last request (a stick table on src), failing
	// over when that server goes down.
	StickSource bool     `yaml:"stick_source,omitempty" json:"stick_source,omitempty"`
	StickExpire Duration `yaml:"stick_expire,omitempty" json:"stick_expire,omitempty"`
	// UseServer sends a request to a named server when its condition holds
	// ("use-server"), before balancing.
	UseServer []UseServer `yaml:"use_server,omitempty" json:"use_server,omitempty"`
	// Rules are the backend's ACLs and http-request/http-response rules,
	// evaluated after the frontend's.
	Rules `yaml:",inline"`
}

// Cookie is HAProxy's "cookie" persistence.
type Cookie struct {
	Name string `yaml:"name" json:"name"`
	// Insert makes the balancer set the cookie (HAProxy "insert").
	Insert bool `yaml:"insert,omitempty" json:"insert,omitempty"`
	// Indirect removes the cookie from requests sent to servers.
	Indirect bool `yaml:"indirect,omitempty" json:"indirect,omitempty"`
	// NoCache adds "Cache-Control: private" to responses that set it.
	NoCache bool `yaml:"nocache,omitempty" json:"nocache,omitempty"`
}

// HealthCheck is a backend's active check (HAProxy's "option httpchk" and "http-check").
type HealthCheck struct {
	Type CheckType `yaml:"type,omitempty" json:"type,omitempty"`
	// Method, Path, Version and Host shape the HTTP request, e.g.
	// "HEAD /deploy.txt HTTP/1.0". Defaults: OPTIONS / HTTP/1.0 as HAProxy.
	Method  string `yaml:"method,omitempty" json:"method,omitempty"`
	Path    string `yaml:"path,omitempty" json:"path,omitempty"`
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	Host    string `yaml:"host,omitempty" json:"host,omitempty"`
	// ExpectStatus lists the healthy status codes; empty: any 2xx or 3xx.
	ExpectStatus []int `yaml:"expect_status,omitempty" json:"expect_status,omitempty"`
	// DisableOn404 turns a 404 into "nolb": the server drains (keeps its
	// connections and sticky sessions) instead of going down.
	DisableOn404 bool `yaml:"disable_on_404,omitempty" json:"disable_on_404,omitempty"`
	CheckTiming  `yaml:",inline"`
	// CheckRules: rulesets and protocol check settings (see checks.go).
	CheckRules `yaml:",inline"`
}

// CheckTiming is the schedule and thresholds of active checks. Zero: inherit.
type CheckTiming struct {
	// Inter is the interval between checks (HAProxy "inter"; default 2s).
	Inter Duration `yaml:"inter,omitempty" json:"inter,omitempty"`
	// FastInter is used while a server is changing state (default Inter).
	FastInter Duration `yaml:"fastinter,omitempty" json:"fastinter,omitempty"`
	// DownInter is used while a server is down (default Inter).
	DownInter Duration `yaml:"downinter,omitempty" json:"downinter,omitempty"`
	// Rise is how many consecutive good checks bring a server up (default 2).
	Rise int `yaml:"rise,omitempty" json:"rise,omitempty"`
	// Fall is how many consecutive bad checks take it down (default 3).
	Fall int `yaml:"fall,omitempty" json:"fall,omitempty"`
}

// Server is one backend server.
type Server struct {
	Name    string `yaml:"name" json:"name"`
	Address string `yaml:"address" json:"address"` // host:port
	// Weight is the relative share of traffic, 0..256 (nil: 1). 0 takes no
	// new traffic unless it is the only choice.
	Weight *int `yaml:"weight,omitempty" json:"weight,omitempty"`
	// Check enables active health checks of this server (HAProxy "check").
	Check bool `yaml:"check,omitempty" json:"check,omitempty"`
	// CheckDisabled pauses a configured check on every node (the runtime
	// API's "disable health"): the server is then treated as unchecked
	// until "enable health" clears it.
	CheckDisabled bool `yaml:"check_disabled,omitempty" json:"check_disabled,omitempty"`
	// CheckTiming overrides the backend's check timing for this server.
	CheckTiming `yaml:",inline"`
	// Backup servers get traffic only when no normal server is usable.
	Backup bool `yaml:"backup,omitempty" json:"backup,omitempty"`
	// MaxConn caps concurrent requests/connections to this server; others
	// wait in a queue for up to timeout queue (0: unlimited).
	MaxConn int `yaml:"maxconn,omitempty" json:"maxconn,omitempty"`
	// Disabled starts the server in maint (HAProxy "disabled").
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Cookie is the persistence cookie value (default: the server name).
	Cookie string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	// SlowStart ramps a server's weight up over this time after it comes up.
	SlowStart Duration `yaml:"slowstart,omitempty" json:"slowstart,omitempty"`
	// ServerCheck: check address, TLS, agent, observe (see checks.go).
	ServerCheck `yaml:",inline"`
	// ServerProxy: PROXY protocol to the server (see proxyproto.go).
	ServerProxy `yaml:",inline"`
	// TLS connects to the server over TLS (HAProxy's "ssl"; servertls.go).
	TLS *ServerTLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Proto is the protocol spoken to the server in mode http: h1
	// (default) or h2 (HTTP/2, over TLS or in clear text with prior
	// knowledge: HAProxy's "proto h2"). HTTP/2 is also spoken when TLS
	// negotiates h2 by ALPN.
	Proto string `yaml:"proto,omitempty" json:"proto,omitempty"`
}

// VIP is a virtual IP address moved between LB nodes.
type VIP struct {
	Name string `yaml:"name" json:"name"`
	// Address with prefix length, e.g. 10.0.0.100/24 or fd00::100/64.
	Address string `yaml:"address" json:"address"`
	// Frontends carried by this VIP: the holder must have them ready.
	Frontends []string `yaml:"frontends,omitempty" json:"frontends,omitempty"`
	// Preempt lets a higher-priority node take the VIP back (nil: true).
	Preempt *bool `yaml:"preempt,omitempty" json:"preempt,omitempty"`
	// PreemptDelay waits this long after a higher-priority node appears
	// before it takes the VIP over.
	PreemptDelay Duration `yaml:"preempt_delay,omitempty" json:"preempt_delay,omitempty"`
	// Announce says how clients' routers learn where the VIP is: "arp"
	// (default: one holder on a shared link, gratuitous ARP/NDP) or "bgp"
	// (the address is bound on every announcing node and announced as a
	// host route to the node's bgp_peers; see config/bgp.go).
	Announce string `yaml:"announce,omitempty" json:"announce,omitempty"`
	// Mode, with announce: bgp: "ecmp" (default: every ready node
	// announces, routers spread flows, active-active) or "primary" (the
	// elected holder announces, the other ready nodes announce with a
	// longer AS path, so routers fail over on withdrawal or session loss).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Communities (RFC 1997, "65000:100") and LargeCommunities (RFC 8092,
	// "65000:1:2") are attached to the VIP's announcement (announce: bgp).
	Communities      []string `yaml:"communities,omitempty" json:"communities,omitempty"`
	LargeCommunities []string `yaml:"large_communities,omitempty" json:"large_communities,omitempty"`
}

// Backend returns the backend with that name, or nil.
func (c *Cluster) Backend(name string) *Backend {
	for i := range c.Backends {
		if c.Backends[i].Name == name {
			return &c.Backends[i]
		}
	}
	return nil
}

// Server returns the server with that name, or nil.
func (b *Backend) Server(name string) *Server {
	for i := range b.Servers {
		if b.Servers[i].Name == name {
			return &b.Servers[i]
		}
	}
	return nil
}

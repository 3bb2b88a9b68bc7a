package config

// Protocol health checks (HAProxy's tcp-check, http-check sequences,
// mysql-check, pgsql-check, redis-check, smtpchk, ldap-check,
// ssl-hello-chk), agent checks and traffic observation. A check is data: a
// ruleset of connect/send/expect steps that package health interprets with
// one engine. Validation is in checks_validate.go.

// CheckRules are the parts of a backend's HealthCheck beyond the simple
// HTTP request (embedded in HealthCheck).
type CheckRules struct {
	// Steps is the check's ruleset, run in order on every check: HAProxy's
	// "tcp-check" rules (type tcp) or "http-check" rules (type http). A
	// ruleset that does not start with a connect step connects to the
	// server's check address first. In an http ruleset a last send step
	// is followed by an implicit "expect status 200-399". Empty: type tcp
	// only connects; type http sends Method Path Version and expects
	// ExpectStatus.
	Steps []CheckStep `yaml:"steps,omitempty" json:"steps,omitempty"`
	// User is the database user of mysql and pgsql checks (HAProxy "option
	// mysql-check user U", "option pgsql-check user U"). It must exist
	// without a password. mysql without a user only reads the server's
	// greeting.
	User string `yaml:"user,omitempty" json:"user,omitempty"`
	// MySQLPre41 speaks the pre-4.1 client protocol (HAProxy "pre-41").
	MySQLPre41 bool `yaml:"mysql_pre41,omitempty" json:"mysql_pre41,omitempty"`
	// Hello is the greeting of smtp checks: "HELO domain" or "EHLO
	// domain". Default "HELO localhost".
	Hello string `yaml:"hello,omitempty" json:"hello,omitempty"`
}

// CheckStep is one rule of a check ruleset: exactly one of Connect, Send
// and Expect.
type CheckStep struct {
	Connect *CheckConnect `yaml:"connect,omitempty" json:"connect,omitempty"`
	Send    *CheckSend    `yaml:"send,omitempty" json:"send,omitempty"`
	Expect  *CheckExpect  `yaml:"expect,omitempty" json:"expect,omitempty"`
	// Comment is reported with the check's result when this step fails
	// ("tcp-check comment").
	Comment string `yaml:"comment,omitempty" json:"comment,omitempty"`
}

// CheckConnect opens the check's connection (closing the previous one).
type CheckConnect struct {
	// Default takes what the step does not set from the server's check
	// options (check_port, check_addr, check_tls, check_send_proxy).
	Default bool `yaml:"default,omitempty" json:"default,omitempty"`
	// Port and Addr: where to connect. 0/empty: the server's check port
	// and address (its own, unless check_port/check_addr say otherwise).
	Port int    `yaml:"port,omitempty" json:"port,omitempty"`
	Addr string `yaml:"addr,omitempty" json:"addr,omitempty"`
	// TLS runs the rest of the check over TLS, with SNI and ALPN if set,
	// without verifying the server's certificate (as HAProxy's "verify
	// none").
	TLS  bool   `yaml:"tls,omitempty" json:"tls,omitempty"`
	SNI  string `yaml:"sni,omitempty" json:"sni,omitempty"`
	ALPN string `yaml:"alpn,omitempty" json:"alpn,omitempty"`
	// SendProxy sends a PROXY protocol header first (the server's
	// send_proxy version, v1 by default), naming no client: a check is
	// the balancer's own connection ("PROXY UNKNOWN", v2 LOCAL).
	SendProxy bool `yaml:"send_proxy,omitempty" json:"send_proxy,omitempty"`
}

// CheckSend writes data on the check's connection. A tcp ruleset sets
// exactly one of Text, Hex, Format and HexFormat; an http ruleset sets the
// request fields only.
type CheckSend struct {
	// Text is sent as is ("tcp-check send"; escapes like \r\n are
	// already decoded).
	Text string `yaml:"text,omitempty" json:"text,omitempty"`
	// Hex is sent as the bytes its hex digits stand for ("send-binary").
	Hex string `yaml:"hex,omitempty" json:"hex,omitempty"`
	// Format is sent once expanded ("send-lf"): text with %[srv_name],
	// %[be_name], %[srv_port], %H (this node's host name) and %%.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// HexFormat is Format whose expansion is hex digits ("send-binary-lf").
	HexFormat string `yaml:"hex_format,omitempty" json:"hex_format,omitempty"`

	// The HTTP request of an http ruleset ("http-check send"). Method
	// default OPTIONS, URI "/", Version HTTP/1.0. "Connection: close" is
	// added unless a Connection header is given, and Content-Length when
	// there is a body. No Host header is added: give one.
	Method  string        `yaml:"method,omitempty" json:"method,omitempty"`
	URI     string        `yaml:"uri,omitempty" json:"uri,omitempty"`
	Version string        `yaml:"version,omitempty" json:"version,omitempty"`
	Headers []CheckHeader `yaml:"headers,omitempty" json:"headers,omitempty"`
	Body    string        `yaml:"body,omitempty" json:"body,omitempty"`
}

// CheckHeader is one header of an HTTP check request.
type CheckHeader struct {
	Name  string `yaml:"name" json:"name"`
	Value string `yaml:"value" json:"value"`
}

// CheckExpect judges what the server sent since the last send step.
type CheckExpect struct {
	// Match is how Pattern is looked for: string (contains), rstring
	// (regular expression, Go RE2 syntax), binary (contains the bytes of
	// hex digits), rbinary (regular expression over the hex digits of
	// what was read); in an http ruleset: status (codes and ranges,
	// "200,301-302"), rstatus (regular expression on the status code),
	// string and rstring (on the body).
	Match   ExpectMatch `yaml:"match" json:"match"`
	Pattern string      `yaml:"pattern" json:"pattern"`
	// Not inverts the match ("expect ! string ..."): the step fails when
	// the pattern is found.
	Not bool `yaml:"not,omitempty" json:"not,omitempty"`
	// MinRecv is how many bytes must have arrived before the match is
	// judged (HAProxy "min-recv"). nil: wait for more data while the
	// pattern is not found, until the check times out; 0: judge what has
	// arrived.
	MinRecv *int `yaml:"min_recv,omitempty" json:"min_recv,omitempty"`
	// OKStatus, ErrorStatus and TimeoutStatus name the check status
	// reported when this step ends the check: L7OK (default), L7OKC
	// (passes, the server takes no new traffic: nolb), L6OK, L4OK; on
	// failure L7RSP (default), L7STS, L6RSP, L4CON, or L7OKC; on timeout
	// L7TOUT (default), L6TOUT, L4TOUT.
	OKStatus      string `yaml:"ok_status,omitempty" json:"ok_status,omitempty"`
	ErrorStatus   string `yaml:"error_status,omitempty" json:"error_status,omitempty"`
	TimeoutStatus string `yaml:"timeout_status,omitempty" json:"timeout_status,omitempty"`
	// OnSuccess and OnError replace the result's description.
	OnSuccess string `yaml:"on_success,omitempty" json:"on_success,omitempty"`
	OnError   string `yaml:"on_error,omitempty" json:"on_error,omitempty"`
}

// ServerCheck are a server's check options beyond timing (embedded in
// Server).
type ServerCheck struct {
	// CheckPort and CheckAddr send the health checks elsewhere than the
	// server's address (HAProxy "port", "addr").
	CheckPort int    `yaml:"check_port,omitempty" json:"check_port,omitempty"`
	CheckAddr string `yaml:"check_addr,omitempty" json:"check_addr,omitempty"`
	// CheckTLS runs health checks over TLS (HAProxy "check-ssl").
	CheckTLS *CheckTLS `yaml:"check_tls,omitempty" json:"check_tls,omitempty"`
	// CheckSendProxy sends a PROXY protocol header on health checks
	// (HAProxy "check-send-proxy"). Checks also send one when the server
	// has send_proxy and neither check_port nor check_addr.
	CheckSendProxy bool `yaml:"check_send_proxy,omitempty" json:"check_send_proxy,omitempty"`
	// Agent asks an agent on the server for its state and weight
	// (HAProxy "agent-check"), whether or not the server is checked.
	Agent *AgentCheck `yaml:"agent,omitempty" json:"agent,omitempty"`
	// ShutdownOnDown closes every connection to the server when it goes
	// down (HAProxy "on-marked-down shutdown-sessions").
	ShutdownOnDown bool `yaml:"shutdown_on_down,omitempty" json:"shutdown_on_down,omitempty"`
	// ShutdownBackupsOnUp closes the connections of the backend's backup
	// servers when this (non-backup, weight > 0) server comes up (HAProxy
	// "on-marked-up shutdown-backup-sessions").
	ShutdownBackupsOnUp bool `yaml:"shutdown_backups_on_up,omitempty" json:"shutdown_backups_on_up,omitempty"`
	// Observe judges the server by live traffic too (HAProxy "observe",
	// "error-limit", "on-error"). It needs check: true.
	Observe *Observe `yaml:"observe,omitempty" json:"observe,omitempty"`
}

// CheckTLS is TLS on health check connections.
type CheckTLS struct {
	// SNI and ALPN sent in the handshake (HAProxy "check-sni", "check-alpn").
	SNI  string `yaml:"sni,omitempty" json:"sni,omitempty"`
	ALPN string `yaml:"alpn,omitempty" json:"alpn,omitempty"`
	// CAFile, a PEM file on every LB node, verifies the server's
	// certificate. Empty: the certificate is not verified (HAProxy
	// "verify none").
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
}

// AgentCheck is HAProxy's agent-check: every Inter the balancer connects
// to Addr:Port, sends Send, and reads one line of words: "up", "down"
// (also "fail", "stopped"), "ready", "drain", "maint", "NN%" (the weight,
// as a share of the configured one). Only words present change anything,
// and only the agent undoes what it set. A failed connection to the agent
// changes nothing: reachability is the health check's job.
type AgentCheck struct {
	Port int    `yaml:"port" json:"port"`
	Addr string `yaml:"addr,omitempty" json:"addr,omitempty"` // default: the server's address
	// Inter is the interval between agent checks and, without timeout
	// check, their timeout. Default 2s.
	Inter Duration `yaml:"inter,omitempty" json:"inter,omitempty"`
	Send  string   `yaml:"send,omitempty" json:"send,omitempty"`
	// Off marks agent settings written without agent-check (a haproxy.cfg
	// default-server line); config import drops them. Never encoded.
	Off bool `yaml:"-" json:"-"`
}

// Observe makes live traffic count against a server: ErrorLimit
// consecutive errors trigger OnError.
type Observe struct {
	// Layer4 counts failed connections (and servers closing before any
	// response byte); layer7 also counts HTTP responses other than 100-499,
	// 501 and 505, timeouts and unparsable responses (mode http).
	Layer ObserveLayer `yaml:"layer" json:"layer"`
	// ErrorLimit consecutive errors trigger OnError (default 10).
	ErrorLimit int `yaml:"error_limit,omitempty" json:"error_limit,omitempty"`
	// OnError: fastinter (check at fastinter), fail-check (count one
	// failed check, default), sudden-death (one more failed check takes
	// the server down), mark-down (down at once). Each also checks at
	// fastinter.
	OnError OnError `yaml:"on_error,omitempty" json:"on_error,omitempty"`
}

// DefaultErrorLimit is HAProxy's default error-limit.
const DefaultErrorLimit = 10

// ExpectMatch is how a check's expect step looks for its pattern.
type ExpectMatch int

const (
	MatchUnset   ExpectMatch = iota
	MatchString              // contains the text
	MatchRString             // regular expression on the text
	MatchBinary              // contains the bytes (pattern: hex digits)
	MatchRBinary             // regular expression on the hex digits of what was read
	MatchStatus              // HTTP status codes and ranges
	MatchRStatus             // regular expression on the HTTP status code
)

var matchNames = []string{"", "string", "rstring", "binary", "rbinary", "status", "rstatus"}

func (m ExpectMatch) String() string { return enumString(matchNames, int(m)) }

// MarshalText implements encoding.TextMarshaler.
func (m ExpectMatch) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *ExpectMatch) UnmarshalText(b []byte) error {
	return enumParse(matchNames, "expect match", b, (*int)(m))
}

// ObserveLayer is what live traffic counts as an error.
type ObserveLayer int

const (
	ObserveLayer4 ObserveLayer = iota + 1
	ObserveLayer7
)

var layerNames = []string{"", "layer4", "layer7"}

func (l ObserveLayer) String() string { return enumString(layerNames, int(l)) }

// MarshalText implements encoding.TextMarshaler.
func (l ObserveLayer) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *ObserveLayer) UnmarshalText(b []byte) error {
	return enumParse(layerNames, "observe layer", b, (*int)(l))
}

// OnError is what ErrorLimit consecutive errors in live traffic do.
type OnError int

const (
	OnErrorUnset       OnError = iota // fail-check
	OnErrorFastInter                  // check at fastinter
	OnErrorFailCheck                  // count one failed check
	OnErrorSuddenDeath                // one more failed check takes the server down
	OnErrorMarkDown                   // down at once
)

var onErrorNames = []string{"", "fastinter", "fail-check", "sudden-death", "mark-down"}

func (o OnError) String() string { return enumString(onErrorNames, int(o)) }

// MarshalText implements encoding.TextMarshaler.
func (o OnError) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *OnError) UnmarshalText(b []byte) error {
	return enumParse(onErrorNames, "on-error action", b, (*int)(o))
}

// HTTPCheck reports whether the check speaks HTTP (option httpchk).
func (hc *HealthCheck) HTTPCheck() bool { return hc != nil && hc.Type == CheckHTTP }

// DefaultAgentInter is HAProxy's default agent-inter.
const DefaultAgentInter = Duration(2e9)

// resolve fills the defaults of a server's check options.
func (c *ServerCheck) resolve() {
	if a := c.Agent; a != nil {
		a.Inter = pick(a.Inter, DefaultAgentInter)
	}
	if o := c.Observe; o != nil {
		o.ErrorLimit = pick(o.ErrorLimit, DefaultErrorLimit)
		o.OnError = pick(o.OnError, OnErrorFailCheck)
	}
}

// ObservedStatusOK reports whether observe layer7 counts an HTTP response
// status as a success, as HAProxy does: 100-499, 501 and 505.
func ObservedStatusOK(code int) bool {
	return code >= 100 && code <= 499 || code == 501 || code == 505
}

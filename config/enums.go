package config

import (
	"fmt"
	"strings"
)

// Mode is a frontend's or backend's protocol.
type Mode int

const (
	ModeUnset Mode = iota // inherit from defaults
	ModeHTTP
	ModeTCP
)

var modeNames = []string{"", "http", "tcp"}

func (m Mode) String() string { return enumString(modeNames, int(m)) }

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error { return enumParse(modeNames, "mode", b, (*int)(m)) }

// Algorithm is a backend's balancing algorithm (HAProxy's "balance").
type Algorithm int

const (
	AlgoUnset      Algorithm = iota // inherit from defaults (roundrobin)
	AlgoRoundRobin                  // smooth weighted round robin, weights change at runtime
	AlgoStaticRR                    // weighted round robin, fixed order
	AlgoLeastConn                   // fewest active connections / weight
	AlgoSource                      // consistent hash of the client IP
	AlgoURI                         // consistent hash of the request path
	AlgoRandom                      // power of two random choices
	AlgoFirst                       // first server (in order) with free slots
)

var algoNames = []string{"", "roundrobin", "static-rr", "leastconn", "source", "uri", "random", "first"}

func (a Algorithm) String() string { return enumString(algoNames, int(a)) }

// MarshalText implements encoding.TextMarshaler.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Algorithm) UnmarshalText(b []byte) error {
	return enumParse(algoNames, "balance algorithm", b, (*int)(a))
}

// CheckType is the kind of active health check.
type CheckType int

const (
	CheckUnset    CheckType = iota // inherit: http if a path is set, else tcp
	CheckHTTP                      // option httpchk, http-check
	CheckTCP                       // a connect, or the tcp-check steps
	CheckRedis                     // option redis-check: PING → +PONG
	CheckMySQL                     // option mysql-check
	CheckPgSQL                     // option pgsql-check
	CheckSMTP                      // option smtpchk
	CheckLDAP                      // option ldap-check
	CheckSSLHello                  // option ssl-hello-chk
)

var checkNames = []string{"", "http", "tcp", "redis", "mysql", "pgsql", "smtp", "ldap", "ssl-hello"}

func (c CheckType) String() string { return enumString(checkNames, int(c)) }

// MarshalText implements encoding.TextMarshaler.
func (c CheckType) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CheckType) UnmarshalText(b []byte) error {
	return enumParse(checkNames, "check type", b, (*int)(c))
}

// AdminState is an operator's decision about a server, replicated cluster-wide.
type AdminState int

const (
	AdminReady AdminState = iota // takes new requests and connections
	AdminDrain                   // no new requests; existing connections and sticky sessions finish
	AdminMaint                   // no traffic at all
)

var adminNames = []string{"ready", "drain", "maint"}

func (a AdminState) String() string { return enumString(adminNames, int(a)) }

// MarshalText implements encoding.TextMarshaler.
func (a AdminState) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *AdminState) UnmarshalText(b []byte) error {
	return enumParse(adminNames, "admin state", b, (*int)(a))
}

// ParseAdminState parses "ready", "drain" or "maint".
func ParseAdminState(s string) (AdminState, error) {
	var a AdminState
	err := a.UnmarshalText([]byte(s))
	return a, err
}

// Health is what health checks observe about a server.
type Health int

const (
	HealthUnknown Health = iota // never checked (treated as up: HAProxy starts servers up)
	HealthUp
	HealthDown
	HealthNoLB // up, but asked not to take new traffic (HAProxy's NOLB, from disable-on-404)
)

var healthNames = []string{"unknown", "up", "down", "nolb"}

func (h Health) String() string { return enumString(healthNames, int(h)) }

// MarshalText implements encoding.TextMarshaler.
func (h Health) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Health) UnmarshalText(b []byte) error { return enumParse(healthNames, "health", b, (*int)(h)) }

// HealthPolicy decides a server's agreed health from the LB nodes' reports.
type HealthPolicy int

const (
	PolicyMajority HealthPolicy = iota // down when a majority of reporting live LB nodes see it down
	PolicyAny                          // down when any reporting node sees it down
	PolicyAll                          // down only when every reporting node sees it down
)

var policyNames = []string{"majority", "any", "all"}

func (p HealthPolicy) String() string { return enumString(policyNames, int(p)) }

// MarshalText implements encoding.TextMarshaler.
func (p HealthPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *HealthPolicy) UnmarshalText(b []byte) error {
	return enumParse(policyNames, "health policy", b, (*int)(p))
}

func enumString(names []string, v int) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("invalid(%d)", v)
	}
	return names[v]
}

func enumParse(names []string, what string, b []byte, dst *int) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range names {
		if n == s {
			*dst = i
			return nil
		}
	}
	valid := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			valid = append(valid, n)
		}
	}
	return fmt.Errorf("unknown %s %q (valid: %s)", what, s, strings.Join(valid, ", "))
}

package rules

import (
	"crypto/x509"
	"net/netip"
	"time"
)

// Fields is a read-only view of a message head's header fields in order,
// as received (names in their original case).
type Fields interface {
	NumFields() int
	Field(i int) (name, value []byte)
}

// Request is a read-only view of a request head.
type Request interface {
	Fields
	// Line returns the method, the request-target as received (origin,
	// absolute, authority or asterisk form) and the version ("HTTP/1.1").
	Line() (method, target, version []byte)
}

// Response is a read-only view of a response head.
type Response interface {
	Fields
	Status() int
}

// FieldEditor changes the header fields of the message the rules run on.
// The slices it is given are valid only during the call: copy them.
// After a change, the view (Request or Response) shows it.
type FieldEditor interface {
	AddField(name, value []byte)
	SetField(i int, value []byte)
	// DelField removes field i; the fields after it move down by one.
	DelField(i int)
}

// RequestEditor rewrites a request head.
type RequestEditor interface {
	FieldEditor
	// SetLine replaces the method and request-target (either may be nil:
	// unchanged).
	SetLine(method, target []byte)
}

// ResponseEditor rewrites a response head.
type ResponseEditor interface {
	FieldEditor
	// SetStatus replaces the status code and reason (reason nil: the
	// standard reason for the code).
	SetStatus(code int, reason []byte)
}

// Conn is what rules know about the client connection.
type Conn interface {
	// Addrs returns the client's address and the address it connected to.
	Addrs() (src, dst netip.AddrPort)
	// TLS returns the TLS session facts; ok is false for clear text.
	TLS() (tls TLSInfo, ok bool)
}

// TLSInfo are facts of a terminated TLS session.
type TLSInfo struct {
	SNI     string // server name the client asked for ("" if none)
	ALPN    string // negotiated protocol ("h2", "http/1.1", "")
	Version string // "TLSv1.2", "TLSv1.3"
	Cipher  uint16 // the cipher suite's ID
	Resumed bool
	// Peer is the client's certificate (verified: the handshake refuses
	// an invalid one); nil when it sent none.
	Peer *x509.Certificate
}

// Servers is the balancer's view of server state for nbsrv() and
// srv_is_up(). Indexes are positions in the config's backends and their
// servers.
type Servers interface {
	// Usable is the number of servers of a backend that can take traffic
	// (HAProxy's nbsrv: up, not in maintenance; backups counted only when
	// no active server is up).
	Usable(backend int) int
	// Up reports whether a server is not down (HAProxy's srv_is_up; used
	// by use-server, which also accepts a draining server).
	Up(backend, server int) bool
}

// Input is what the fetches read. The core fills it as the transaction
// goes; zero fields are absent (fetches of them do not match).
type Input struct {
	Conn Conn
	// Req is the request head (nil in mode tcp).
	Req Request
	// Res is the response head in response stages.
	Res Response
	// Payload is the client bytes buffered so far (tcp-request content).
	Payload []byte
	// Final: no more bytes will come before the rules must decide
	// (inspect-delay expired, buffer full, client closed, or no delay).
	Final   bool
	Servers Servers
	// Backend and Server are the chosen backend and server indexes, -1
	// until chosen (Begin sets them to -1).
	Backend, Server int
	// Now is the time date() gives (zero: the clock, read when asked).
	Now time.Time
}

// Verdict is the outcome of a stage's rules.
type Verdict uint8

const (
	// Continue: no rule stopped the evaluation; go on.
	Continue Verdict = iota
	// Accept: a rule accepted (tcp-request accept, http allow); the rest of
	// this section's rules of that set are skipped; go on.
	Accept
	// Reject: close the connection without a response.
	Reject
	// Respond: answer the client with State.Reply and end the
	// transaction (deny, return, redirect, auth).
	Respond
	// NeedMore: a tcp-request content rule needs more bytes; call again
	// when more arrive or with Input.Final set when inspect-delay expires.
	NeedMore
)

var verdictNames = [...]string{"continue", "accept", "reject", "respond", "need-more"}

func (v Verdict) String() string { return verdictNames[v] }

// Reply is an answer the rules produced. Its slices point into the
// State's buffers: valid until the State is reset or released.
type Reply struct {
	Status int
	// Reason is the status line's reason ("Moved Permanently"); empty: the
	// standard one.
	Reason []byte
	// ErrorPage: answer with the balancer's own error page for Status,
	// adding Fields (auth's WWW-Authenticate). When the section has an
	// errorfile for the status, the engine uses it instead: ErrorPage is
	// false and Reason, Fields and Body come from the file.
	ErrorPage bool
	// Fields are the header fields to send, in order (Location,
	// Cache-Control, Set-Cookie, content-type, "hdr" fields). The core adds
	// Content-Length and Connection.
	Fields []Field
	// Body is the payload (return string/file, an errorfile's body).
	Body []byte
}

// Field is one header field of a Reply.
type Field struct {
	Name, Value []byte
}

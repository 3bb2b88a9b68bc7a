package accesslog

import (
	"net/netip"
	"time"
)

// Record is what one log line reports, as plain values. The balancer fills
// one per HTTP request or TCP connection; a Program reads only the fields
// its variables name (Program.Needs).
type Record struct {
	// Times print in their own zone where HAProxy prints local time (%t,
	// %tr, %Tl): pass time.Now()'s. %T and %trg convert to UTC.
	//
	// Accept is when the request's connection was accepted, or, for a
	// later request on a kept-alive connection, when that request began
	// (HAProxy resets the accept date the same way, section 8.2.2).
	Accept time.Time
	// Handshake (Th) and Idle (Ti) precede the request's first byte.
	Handshake, Idle time.Duration
	// Steps of the request; a zero time is a step never reached (its timer
	// logs -1). HeadDone: the request head was received (TR). Queued: a
	// server slot was obtained (Tw). Connected: the server connection was
	// established (Tc). Response: the response head arrived (Tr). End: the
	// log is written (Ta, Tt).
	HeadDone, Queued, Connected, Response, End time.Time

	HTTP bool // HTTP mode (TCP mode otherwise)
	TLS  bool // the client connection is TLS (%ft gets '~')

	ClientAddr, FrontendAddr, ServerAddr netip.AddrPort // zero: unknown ("-")

	FrontendName, BackendName, ServerName string // ServerName "": <NOSRV>

	// Status is the HTTP status sent to the client; -1: none (HTTP), 0 in
	// TCP mode.
	Status int
	// BytesOut were sent to the client (%B), BytesIn received from it (%U).
	BytesOut, BytesIn int64
	// Term is the termination state, two characters (section 8.5); Cookie
	// the two persistence characters %tsc adds ("--": no persistence).
	Term, Cookie [2]byte
	// Connection counts when the line is logged (%ac %fc %bc %sc) and the
	// queue positions (%sq %bq).
	ActConn, FeConn, BeConn, SrvConn int64
	SrvQueue, BackendQueue           int64
	Retries                          int
	Redispatched                     bool // %rc gets '+'

	// RequestLine is the request's first line as received, without CRLF;
	// nil when no request was read (<BADREQ>).
	RequestLine []byte
	// ReqCaptures and ResCaptures hold the captured header values, one per
	// slot of Program.RequestHeaders / ResponseHeaders, nil when absent.
	ReqCaptures, ResCaptures [][]byte
	// ReqCookie and ResCookie are the captured cookie ("name=value"), nil
	// when absent (%CC, %CS).
	ReqCookie, ResCookie []byte
	UniqueID             []byte // %ID; nil: none

	// TLS facts (%sslv %sslc and the ssl_fc_* fetches).
	TLSVersion, TLSCipher, SNI string
	TLSResumed                 bool

	RequestCounter uint64 // %rt
	LogCounter     uint64 // %lc
	Hostname       string // %H
	PID            int    // %pid
}

// Reset clears r for the next line, keeping the capacity of its capture
// slices.
func (r *Record) Reset() {
	*r = Record{ReqCaptures: r.ReqCaptures[:0], ResCaptures: r.ResCaptures[:0]}
}

package rules

import (
	"strconv"
	"time"
)

// RuleSet is where a rule line belongs.
type RuleSet uint8

const (
	SetTCPConnection     RuleSet = iota + 1 // tcp-request connection
	SetTCPSession                           // tcp-request session
	SetTCPContent                           // tcp-request content
	SetHTTPRequest                          // http-request
	SetHTTPResponse                         // http-response
	SetHTTPAfterResponse                    // http-after-response
	SetRedirect                             // the "redirect" directive
)

var setNames = [...]string{"", "tcp-request connection", "tcp-request session", "tcp-request content",
	"http-request", "http-response", "http-after-response", "redirect"}

func (s RuleSet) String() string { return setNames[s] }

func (s RuleSet) bit() uint8 { return 1 << s }

// Action is what a rule does.
type Action uint8

const (
	ActAccept Action = iota + 1
	ActReject
	ActAllow
	ActDeny
	ActAuth
	ActRedirect
	ActReturn
	ActSetHeader
	ActAddHeader
	ActDelHeader
	ActReplaceHeader
	ActReplaceValue
	ActSetPath
	ActSetPathq
	ActSetQuery
	ActSetURI
	ActReplacePath
	ActReplacePathq
	ActReplaceURI
	ActSetMethod
	ActSetStatus
	ActSetVar
	ActSetVarFmt
	ActUnsetVar
)

// Rule is one parsed rule line.
type Rule struct {
	Set    RuleSet
	Action Action
	// Header is the field name of header actions.
	Header string
	// Value is the log-format of set-header/add-header values, set-path and
	// friends, set-method, set-var-fmt, and the replacement of replace-*.
	Value *LogFormat
	// Regex is the match of replace-header/-value/-path/-pathq/-uri.
	Regex string
	// NameMatch is del-header's "-m" method for the name (MatchNone: str).
	NameMatch Match
	// Var and Expr are set-var's variable and expression (Expr nil for
	// set-var-fmt, which uses Value).
	Var  Var
	Expr *Expr
	// Status and Reason are set-status's.
	Status int
	Reason string
	// Realm is auth's "realm" ("" when not given: the section's name).
	Realm    string
	Redirect *Redirect
	Reply    *Reply
	Cond     *Cond
}

// Redirect is an "http-request redirect" / "redirect" rule
// (configuration.txt 4.2 "redirect").
type Redirect struct {
	Type RedirectType
	// Target is the location, prefix or scheme. For the "redirect"
	// directive it is literal text (one Lit node): it is not a log-format.
	Target *LogFormat
	// Code is 301, 302 (default), 303, 307 or 308.
	Code        int
	DropQuery   bool
	AppendSlash bool
	IgnoreEmpty bool
	// Cookie is "set-cookie NAME[=value]" (Clear false) or
	// "clear-cookie NAME[=]" (Clear true).
	Cookie      string
	ClearCookie bool
	// ExplicitCode records that "code" was written, for printing.
	ExplicitCode bool
}

// RedirectType is the kind of redirect.
type RedirectType uint8

const (
	RedirectLocation RedirectType = iota + 1
	RedirectPrefix
	RedirectScheme
)

// Reply is the answer of deny and return (configuration.txt 4.2
// "http-request return").
type Reply struct {
	Status int
	// ExplicitStatus records that a status was written, for printing.
	ExplicitStatus bool
	ContentType    string
	Body           ReplyBody
	// Text is the string, lf-string text, file or errorfile name.
	Text string
	// Format is the parsed lf-string or lf-file content.
	Format *LogFormat
	// Headers are the "hdr NAME FMT" fields (not with errorfiles).
	Headers []ReplyHeader
}

// ReplyBody is where a reply's content comes from.
type ReplyBody uint8

const (
	BodyNone       ReplyBody = iota // a dummy response: status only
	BodyErrorFiles                  // the section's errorfile for the status, else the default page
	BodyErrorFile                   // a complete HTTP response from a file
	BodyFile                        // the payload from a file
	BodyLFFile                      // the payload from a file, as a log-format
	BodyString                      // a literal payload
	BodyLFString                    // a log-format payload
)

// ReplyHeader is one "hdr NAME FMT" of a reply.
type ReplyHeader struct {
	Name  string
	Value *LogFormat
}

// ParseTime parses HAProxy's time format (configuration.txt 2.5): a
// number and a unit among us, ms, s, m, h, d; no unit means milliseconds.
func ParseTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errAt(-1, "%q is not a time (e.g. 5s, 500ms)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, errAt(-1, "%q is not a time (e.g. 5s, 500ms)", s)
	}
	unit := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[s[i:]]
	if unit == 0 {
		return 0, errAt(-1, "%q: unknown time unit %q (use us, ms, s, m, h or d)", s, s[i:])
	}
	if n > int64(1<<62)/int64(unit) {
		return 0, errAt(-1, "%q is too large", s)
	}
	return time.Duration(n) * unit, nil
}

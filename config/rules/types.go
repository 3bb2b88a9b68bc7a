package rules

// Type is the type of a sample, as HAProxy types fetch and converter outputs
// (configuration.txt 7.1, 7.3).
type Type uint8

const (
	TypeAny  Type = iota // var(): known only at run time
	TypeBool             // boolean
	TypeInt              // signed 64-bit integer
	TypeAddr             // IPv4 or IPv6 address
	TypeStr              // string
	TypeBin              // binary block
	TypeMeth             // HTTP method (matched by "method" patterns)
)

var typeNames = [...]string{"any", "bool", "int", "ip", "str", "bin", "meth"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type?"
}

// castable reports whether a sample of type from converts to to, as
// HAProxy's sample_casts table allows (sample.c). Any converts to anything
// at run time (the conversion may still fail then).
func castable(from, to Type) bool {
	if from == to || from == TypeAny || to == TypeAny {
		return true
	}
	switch from {
	case TypeBool:
		return to == TypeInt || to == TypeStr
	case TypeInt:
		return to == TypeBool || to == TypeAddr || to == TypeStr || to == TypeBin
	case TypeAddr:
		return to == TypeStr || to == TypeBin || to == TypeInt
	case TypeStr:
		return to == TypeBool || to == TypeInt || to == TypeAddr || to == TypeBin || to == TypeMeth
	case TypeBin:
		return to == TypeStr
	case TypeMeth:
		return to == TypeStr || to == TypeBin
	}
	return false
}

// Match is a pattern matching method ("-m METHOD", configuration.txt 7.1).
type Match uint8

const (
	MatchNone  Match = iota // not chosen yet
	MatchFound              // the sample exists
	MatchBool               // the sample is true / non-zero
	MatchInt                // integer (ranges, eq/ge/gt/le/lt)
	MatchIP                 // address in a network
	MatchBin                // hex block
	MatchLen                // length as an integer
	MatchStr                // exact string
	MatchBeg                // prefix
	MatchSub                // substring
	MatchDir                // slash-delimited part
	MatchDom                // dot/colon/slash/question-mark delimited part
	MatchEnd                // suffix
	MatchReg                // regular expression
	MatchRegm               // regex with back-references in the value (map_regm only)
	MatchMeth               // HTTP method ("method" ACL keyword)
	MatchGroup              // userlist group ("http_auth_group" ACL keyword)
)

var matchNames = [...]string{"", "found", "bool", "int", "ip", "bin", "len", "str", "beg", "sub", "dir", "dom", "end", "reg", "regm", "meth", "group"}

func (m Match) String() string {
	if int(m) < len(matchNames) {
		return matchNames[m]
	}
	return "match?"
}

// matchByName resolves a "-m" argument; meth, group and regm are not
// selectable there.
func matchByName(s string) (Match, bool) {
	for m := MatchFound; m <= MatchReg; m++ {
		if matchNames[m] == s {
			return m, true
		}
	}
	return MatchNone, false
}

// input is the sample type a match method compares (pattern.c
// pat_match_types): "-m M" is allowed when the sample casts to it.
func (m Match) input() Type {
	switch m {
	case MatchBool, MatchInt:
		return TypeInt
	case MatchIP:
		return TypeAddr
	case MatchBin:
		return TypeBin
	case MatchMeth:
		return TypeMeth
	}
	return TypeStr
}

// defaultMatch is the method an ACL uses without "-m" for a sample of type t
// (configuration.txt 7.1, the table of default matching methods).
func defaultMatch(t Type) Match {
	switch t {
	case TypeBool:
		return MatchBool
	case TypeInt:
		return MatchInt
	case TypeAddr:
		return MatchIP
	case TypeStr:
		return MatchStr
	case TypeMeth:
		return MatchMeth
	}
	return MatchNone
}

// Source says what a fetch reads, as HAProxy's SMP_USE_* bits do; together
// with Stage it decides where a fetch may be used (sample.c fetch_cap).
type Source uint16

const (
	SrcConst Source = 1 << iota // constants
	SrcIntrn                    // internal state (servers up, variables)
	SrcL4Cli                    // client connection addresses
	SrcL5Cli                    // client TLS session
	SrcL6Req                    // raw request bytes (tcp-request content)
	SrcHRQHV                    // request head values (headers, path): gone once forwarded
	SrcHRQHP                    // request facts that stay (method, captures)
	SrcBkend                    // the chosen backend
	SrcServr                    // the chosen server
	SrcHRSHV                    // response head values
	SrcHRSHP                    // response facts (status)
)

// Stage is the point of the transaction where a rule runs; HAProxy's
// SMP_CKP_* checkpoints.
type Stage uint8

const (
	StageTCPConnection  Stage = iota // tcp-request connection
	StageTCPSession                  // tcp-request session
	StageTCPContentFE                // tcp-request content in a frontend
	StageHTTPRequestFE               // http-request and redirect in a frontend
	StageUseBackend                  // use_backend
	StageTCPContentBE                // tcp-request content in a backend
	StageHTTPRequestBE               // http-request and redirect in a backend
	StageUseServer                   // use-server
	StageHTTPResponseBE              // http-response / http-after-response in a backend
	StageHTTPResponseFE              // http-response / http-after-response in a frontend
)

var stageNames = [...]string{
	"tcp-request connection", "tcp-request session", "tcp-request content",
	"http-request", "use_backend", "tcp-request content", "http-request",
	"use-server", "http-response", "http-response",
}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "stage?"
}

// request reports whether the stage runs before the response exists.
func (s Stage) request() bool { return s <= StageUseServer }

// valid is fetch_cap of sample.c: the stages where each source can be read.
func (src Source) validAt(s Stage) bool {
	var ok Source = SrcConst | SrcIntrn | SrcL4Cli
	if s != StageTCPConnection {
		ok |= SrcL5Cli
	}
	if s.request() && s != StageTCPConnection && s != StageTCPSession {
		ok |= SrcL6Req | SrcHRQHV | SrcHRQHP
	}
	if !s.request() {
		ok |= SrcHRQHP | SrcHRSHV | SrcHRSHP | SrcBkend | SrcServr
	}
	if s == StageTCPContentBE || s == StageHTTPRequestBE || s == StageUseServer {
		ok |= SrcBkend
	}
	// A fetch with several sources is usable where any of them is
	// (sample.c: sf->val |= fetch_cap[bit]).
	return src&ok != 0
}

func (src Source) http() bool {
	return src&(SrcHRQHV|SrcHRQHP|SrcHRSHV|SrcHRSHP) != 0
}

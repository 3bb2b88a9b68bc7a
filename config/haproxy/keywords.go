package haproxy

import "strings"

// This file is the classification of every proxy keyword of HAProxy 2.6
// (configuration.txt section 4.1, the keyword matrix): what the importer does
// with each one. It is the one place to change when tandem learns a feature:
// a later issue that implements protocol health checks, the PROXY protocol,
// TLS to servers or log-format turns the row's class from refused to mapped
// and gives it a handler. Server and bind options are classified the same
// way in serveropts.go, global keywords in global.go.

// class is what the importer does with a keyword.
type class int

const (
	// mapped keywords are translated into the cluster config.
	mapped class = iota
	// neutral keywords do not change what clients or servers see (logging,
	// process and kernel tuning, names): a warning, then ignored.
	neutral
	// refused keywords would make tandem route, answer or check health
	// differently from HAProxy: an error, a warning with --lenient.
	refused
	// removed keywords are refused by HAProxy 2.6 itself; one with a
	// handler is read as its replacement with --lenient.
	removed
)

// where is the set of sections a keyword may be written in: the columns of
// the keyword matrix. A listen section has both sides, frontend and backend.
type where uint8

const (
	inDefaults      where = 1 << iota // any defaults section
	inNamedDefaults                   // named defaults sections only: the matrix's "X (!)"
	inFrontend
	inBackend

	inProxy = inFrontend | inBackend
	inAll   = inDefaults | inProxy
	inDefFE = inDefaults | inFrontend
	inDefBE = inDefaults | inBackend
	inRules = inNamedDefaults | inProxy // TCP/HTTP rules: named defaults only
)

// handler applies one mapped directive to the section it is in.
type handler func(p *parser, px *proxy, l line)

// keyword is one row of the classification.
type keyword struct {
	where where
	class class
	neg   bool    // accepts a leading "no" (the matrix's "(*)")
	http  bool    // only means something in mode http; HAProxy ignores it in tcp proxies
	fatal bool    // HAProxy refuses it (not only ignores it) in a section lacking its side
	fn    handler // mapped, and removed keywords with a replacement
	// why says, for a neutral keyword, why ignoring it changes no traffic;
	// for a refused one, what HAProxy does that tandem does not.
	why string
}

func kwMapped(w where, fn handler) keyword { return keyword{where: w, class: mapped, fn: fn} }

func kwNeutral(w where, why string) keyword { return keyword{where: w, class: neutral, why: why} }

func kwRefused(w where, why string) keyword { return keyword{where: w, class: refused, why: why} }

func kwRemoved(w where, why string) keyword { return keyword{where: w, class: removed, why: why} }

func (k keyword) negatable() keyword { k.neg = true; return k }
func (k keyword) httpOnly() keyword  { k.http = true; return k }
func (k keyword) strict() keyword    { k.fatal = true; return k }

// Reasons shared by several rows.
const (
	whyLog       = "it only shapes logs, and tandem writes its own access log (set access_log on the frontend)"
	whyTCPTuning = "it tunes TCP keep-alive probes or socket options, not what clients and servers exchange"
	whyCheck     = "HAProxy checks servers with this protocol's exchange or program; tandem does not speak it (it checks with tcp-check, http-check and the protocol checks of mysql, pgsql, redis, smtp, ldap and ssl-hello)"
	whyCheckVars = "HAProxy sets variables during checks for later steps to use; tandem's checks have no variables"
	whyStick     = "HAProxy keeps clients on servers by this stick rule; tandem's persistence is 'stick on src' with a 'stick-table type ip' in the same backend, or a cookie"
	whyRules     = "its rules are kept in the config and checked by rule validation"
)

// keywords classifies every proxy keyword. Keywords with a sub-keyword
// ("option httpchk", "timeout client", "stats uri") are keyed by both words.
var keywords = map[string]keyword{
	"acl":                         kwMapped(inRules, (*parser).acl),
	"backlog":                     kwNeutral(inDefFE, "it sizes the kernel's accept queue"),
	"balance":                     kwMapped(inDefBE, (*parser).balance),
	"bind":                        kwMapped(inFrontend, (*parser).bind),
	"bind-process":                kwNeutral(inAll, "it pins the proxy to processes or threads"),
	"capture cookie":              kwMapped(inFrontend, (*parser).capture).httpOnly(),
	"capture request":             kwMapped(inFrontend, (*parser).capture).httpOnly(),
	"capture response":            kwMapped(inFrontend, (*parser).capture).httpOnly(),
	"clitcpka-cnt":                kwNeutral(inDefFE, whyTCPTuning),
	"clitcpka-idle":               kwNeutral(inDefFE, whyTCPTuning),
	"clitcpka-intvl":              kwNeutral(inDefFE, whyTCPTuning),
	"compression":                 kwRefused(inAll, "HAProxy compresses responses; tandem sends them as the server wrote them").httpOnly(),
	"cookie":                      kwMapped(inDefBE, (*parser).cookie),
	"declare":                     kwNeutral(inFrontend, "it declares capture slots, which only feed logs").strict(),
	"default-server":              kwMapped(inDefBE, (*parser).defaultServer).strict(),
	"default_backend":             kwMapped(inDefFE, (*parser).defaultBackend),
	"description":                 kwNeutral(inProxy, "it is shown on HAProxy's stats page only"),
	"disabled":                    kwMapped(inAll, (*parser).disabled),
	"dispatch":                    kwRefused(inBackend, "HAProxy sends every connection to this fixed address; tandem needs server lines"),
	"email-alert":                 kwNeutral(inAll, "it mails notifications about server state changes"),
	"enabled":                     kwMapped(inAll, (*parser).enabled),
	"errorfile":                   kwMapped(inAll, (*parser).errorFile).httpOnly(),
	"errorfiles":                  kwMapped(inAll, (*parser).errorFiles).httpOnly(),
	"errorloc":                    kwRefused(inAll, "HAProxy answers its own errors of this status with a redirect to a URL; tandem answers with an error page (write an errorfile)").httpOnly(),
	"errorloc302":                 kwRefused(inAll, "HAProxy answers its own errors of this status with a 302 redirect to a URL; tandem answers with an error page (write an errorfile)").httpOnly(),
	"errorloc303":                 kwRefused(inAll, "HAProxy answers its own errors of this status with a 303 redirect to a URL; tandem answers with an error page (write an errorfile)").httpOnly(),
	"error-log-format":            kwNeutral(inDefFE, whyLog),
	"external-check":              kwRefused(inDefBE, whyCheck),
	"force-persist":               kwRefused(inBackend, "HAProxy keeps a persistent client on its server even when that server is down"),
	"filter":                      kwRefused(inProxy, "HAProxy runs this filter (compression, cache, SPOE, bandwidth limits) on the traffic; tandem has no filters"),
	"fullconn":                    kwNeutral(inDefBE, "it only scales the servers' minconn, which tandem refuses"),
	"hash-type":                   kwNeutral(inDefBE, "it only matters for hash-based balancing (balance source, uri), which tandem refuses"),
	"http-after-response":         kwMapped(inRules, (*parser).httpAfterResponse).httpOnly(),
	"http-error":                  kwMapped(inAll, (*parser).httpError).httpOnly(),
	"http-request":                kwMapped(inRules, (*parser).httpRequest).httpOnly(),
	"http-response":               kwMapped(inRules, (*parser).httpResponse).httpOnly(),
	"http-reuse":                  kwMapped(inDefBE, (*parser).httpReuse).httpOnly(),
	"http-send-name-header":       kwRefused(inDefBE, "HAProxy adds a header naming the chosen server to every request; tandem does not").httpOnly(),
	"id":                          kwNeutral(inProxy, "numeric proxy IDs only show in HAProxy's stats and logs"),
	"ignore-persist":              kwRefused(inBackend, "HAProxy ignores persistence for the requests this condition matches"),
	"load-server-state-from-file": kwNeutral(inDefBE, "it restores server states across HAProxy reloads; tandem replicates them"),
	"log":                         kwMapped(inAll, (*parser).proxyLog).negatable(),
	"log-format":                  kwMapped(inDefFE, (*parser).logFormat),
	"log-format-sd":               kwMapped(inDefFE, (*parser).logFormatSD),
	"log-tag":                     kwNeutral(inAll, whyLog),
	"max-keep-alive-queue":        kwNeutral(inDefBE, "it only decides when a request waits for a busy keep-alive connection"),
	"maxconn":                     kwMapped(inDefFE, (*parser).maxConn),
	"mode":                        kwMapped(inAll, (*parser).mode),
	"monitor":                     kwRefused(inFrontend, "HAProxy answers its monitor-uri with 503 when this condition holds; tandem has no monitor-uri").httpOnly(),
	"monitor-uri":                 kwRefused(inDefFE, "HAProxy answers requests for this URI itself with 200 (a health endpoint for what is in front of it); tandem would send them to a server").httpOnly(),
	"persist":                     kwRefused(inDefBE, "HAProxy persists RDP sessions by their cookie"),
	"rate-limit":                  kwRefused(inDefFE, "HAProxy accepts at most this many new sessions per second; tandem has no rate limit"),
	"redirect":                    kwMapped(inProxy, (*parser).redirect).httpOnly(),
	"retries":                     kwMapped(inDefBE, (*parser).retries),
	"retry-on":                    kwMapped(inDefBE, (*parser).retryOn).httpOnly().strict(),
	"server":                      kwMapped(inBackend, (*parser).server).strict(),
	"server-state-file-name":      kwNeutral(inDefBE, "it restores server states across HAProxy reloads; tandem replicates them"),
	"server-template":             kwRefused(inBackend, "HAProxy creates servers from a DNS name at run time (service discovery); tandem needs each server written out").strict(),
	"source":                      kwRefused(inDefBE, "HAProxy connects to servers from this source address (or transparently from the client's)"),
	"srvtcpka-cnt":                kwNeutral(inDefBE, whyTCPTuning),
	"srvtcpka-idle":               kwNeutral(inDefBE, whyTCPTuning),
	"srvtcpka-intvl":              kwNeutral(inDefBE, whyTCPTuning),
	"stats":                       kwMapped(inAll, (*parser).stats),
	"stick":                       kwMapped(inBackend, (*parser).stick),
	"stick-table":                 kwMapped(inProxy, (*parser).stickTable),
	"tcp-request":                 kwMapped(inRules, (*parser).tcpRequest),
	"tcp-response":                kwRefused(inNamedDefaults|inBackend, "HAProxy runs tcp-response content rules on server data; tandem has none"),
	"timeout":                     kwMapped(inAll, (*parser).timeout),
	"transparent":                 kwRefused(inDefBE, "HAProxy connects to the address the client asked for (transparent proxying)"),
	"unique-id-format":            kwNeutral(inDefFE, "the unique ID only shows in logs unless unique-id-header or a rule uses it"),
	"unique-id-header":            kwRefused(inDefFE, "HAProxy adds a unique-ID header to every request; tandem does not").httpOnly(),
	"use_backend":                 kwMapped(inFrontend, (*parser).useBackend),
	"use-fcgi-app":                kwRefused(inBackend, "HAProxy talks FastCGI to these servers; tandem talks HTTP"),
	"use-server":                  kwMapped(inBackend, (*parser).useServer),

	// Keywords HAProxy 2.6 no longer accepts.
	"contimeout":  {where: inAll, class: removed, fn: (*parser).oldTimeout, why: "removed in HAProxy 2.1: write 'timeout connect'"},
	"clitimeout":  {where: inAll, class: removed, fn: (*parser).oldTimeout, why: "removed in HAProxy 2.1: write 'timeout client'"},
	"srvtimeout":  {where: inAll, class: removed, fn: (*parser).oldTimeout, why: "removed in HAProxy 2.1: write 'timeout server'"},
	"monitor-net": kwRemoved(inDefFE, "removed in HAProxy 2.2: write 'http-request return status 200 if { src NET }'"),
	"block":       kwRemoved(inProxy, "removed in HAProxy 2.1: write 'http-request deny', with the same syntax"),
	"redispatch":  kwRemoved(inDefBE, "removed in HAProxy 2.1: write 'option redispatch'"),
	"redisp":      kwRemoved(inDefBE, "removed in HAProxy 2.1: write 'option redispatch'"),
	"reqadd":      kwRemoved(inProxy, "removed in HAProxy 2.1: write 'http-request add-header'"),
	"rspadd":      kwRemoved(inProxy, "removed in HAProxy 2.1: write 'http-response add-header'"),
}

func init() {
	// The other req*/rsp* regex rewriting keywords went with reqadd in 2.1.
	for _, kw := range []string{"reqrep", "reqirep", "reqdel", "reqidel", "reqallow", "reqiallow",
		"reqdeny", "reqideny", "reqpass", "reqipass", "reqtarpit", "reqitarpit"} {
		keywords[kw] = kwRemoved(inProxy, "removed in HAProxy 2.1: write the matching 'http-request' rule (replace-header, del-header, deny, allow, tarpit)")
	}
	for _, kw := range []string{"rsprep", "rspirep", "rspdel", "rspidel", "rspdeny", "rspideny"} {
		keywords[kw] = kwRemoved(inProxy, "removed in HAProxy 2.1: write the matching 'http-response' rule (replace-header, del-header, deny)")
	}
}

// options classifies every "option NAME" of HAProxy 2.6.
var options = map[string]keyword{
	"abortonclose":                 kwNeutral(inDefBE, "it only cancels queued requests whose client has left").negatable(),
	"accept-invalid-http-request":  kwRefused(inDefFE, "HAProxy accepts requests with invalid characters; tandem answers them with 400").negatable().httpOnly(),
	"accept-invalid-http-response": kwRefused(inDefBE, "HAProxy passes responses with invalid characters on; tandem answers 502").negatable().httpOnly(),
	"allbackups":                   kwMapped(inDefBE, (*parser).optionAllBackups).negatable(),
	"checkcache":                   kwRefused(inDefBE, "HAProxy blocks cacheable responses that set cookies; tandem passes them on").negatable().httpOnly(),
	"clitcpka":                     kwNeutral(inDefFE, whyTCPTuning).negatable(),
	"contstats":                    kwNeutral(inDefFE, "it only updates HAProxy's traffic counters more often").negatable(),
	"disable-h2-upgrade":           kwMapped(inDefFE, (*parser).optionDisableH2Upgrade).negatable().httpOnly(),
	"dontlog-normal":               kwNeutral(inDefFE, whyLog).negatable(),
	"dontlognull":                  kwMapped(inDefFE, (*parser).optionDontLogNull).negatable(),
	"external-check":               kwRefused(inDefBE, whyCheck),
	"forwardfor":                   kwMapped(inAll, (*parser).optionForwardFor).httpOnly(),
	"h1-case-adjust-bogus-client":  kwRefused(inDefFE, "HAProxy rewrites the case of header names sent to clients (h1-case-adjust); tandem does not").negatable().httpOnly(),
	"h1-case-adjust-bogus-server":  kwRefused(inDefBE, "HAProxy rewrites the case of header names sent to servers (h1-case-adjust); tandem does not").negatable().httpOnly(),
	"http-buffer-request":          kwNeutral(inAll, "the server sees the same request, only HAProxy waits for its body before connecting").negatable().httpOnly(),
	"http-ignore-probes":           kwNeutral(inDefFE, whyLog).negatable().httpOnly(),
	"http-keep-alive":              kwMapped(inAll, (*parser).optionKeepAlive).negatable().httpOnly(),
	"http-no-delay":                kwNeutral(inAll, "it only changes when TCP segments are sent").negatable().httpOnly(),
	"http-pretend-keepalive":       kwNeutral(inDefBE, "it only decides whether 'Connection: close' is sent to servers of a closing connection").negatable().httpOnly(),
	"http-restrict-req-hdr-names":  kwMapped(inAll, (*parser).optionRestrictHeaderNames).httpOnly(),
	"http-server-close":            kwRefused(inAll, "HAProxy closes the server connection after each response and tells the server so (Connection: close); tandem keeps server connections open and reuses them").negatable().httpOnly(),
	"http-use-proxy-header":        kwRefused(inDefFE, "HAProxy reads Proxy-Connection as Connection; tandem does not").negatable().httpOnly(),
	"httpchk":                      kwMapped(inDefBE, (*parser).optionHTTPChk),
	"httpclose":                    kwRefused(inAll, "HAProxy closes client and server connections after each response (Connection: close both ways); tandem keeps them alive").negatable().httpOnly(),
	"httplog":                      kwMapped(inDefFE, (*parser).logOption).negatable(),
	"httpslog":                     kwMapped(inDefFE, (*parser).logOption).negatable(),
	"independent-streams":          kwNeutral(inAll, "it only changes which direction's activity resets the timeouts").negatable(),
	"ldap-check":                   kwMapped(inDefBE, (*parser).optionCheck),
	"log-health-checks":            kwNeutral(inDefBE, whyLog).negatable(),
	"log-separate-errors":          kwMapped(inDefFE, (*parser).optionLogSeparateErrors).negatable(),
	"logasap":                      kwNeutral(inDefFE, whyLog).negatable(),
	"mysql-check":                  kwMapped(inDefBE, (*parser).optionCheck),
	"nolinger":                     kwNeutral(inAll, "it only changes how closed sockets are torn down").negatable(),
	"originalto":                   kwRefused(inAll, "HAProxy adds an X-Original-To header to every request; tandem does not").httpOnly(),
	"persist":                      kwRefused(inDefBE, "HAProxy keeps sending a persistent client to its server even when that server is down").negatable(),
	"pgsql-check":                  kwMapped(inDefBE, (*parser).optionCheck),
	"prefer-last-server":           kwRefused(inDefBE, "HAProxy sends a keep-alive client's next request to the server of its last one; tandem balances every request").negatable(),
	"redis-check":                  kwMapped(inDefBE, (*parser).optionCheck),
	"redispatch":                   kwMapped(inDefBE, (*parser).optionRedispatch).negatable(),
	"smtpchk":                      kwMapped(inDefBE, (*parser).optionCheck),
	"socket-stats":                 kwNeutral(inDefFE, "it only adds per-socket counters to HAProxy's stats").negatable(),
	"splice-auto":                  kwNeutral(inAll, "it only chooses the kernel's copy path").negatable(),
	"splice-request":               kwNeutral(inAll, "it only chooses the kernel's copy path").negatable(),
	"splice-response":              kwNeutral(inAll, "it only chooses the kernel's copy path").negatable(),
	"spop-check":                   kwRefused(inDefBE, whyCheck),
	"srvtcpka":                     kwNeutral(inDefBE, whyTCPTuning).negatable(),
	"ssl-hello-chk":                kwMapped(inDefBE, (*parser).optionCheck),
	"tcp-check":                    kwMapped(inDefBE, (*parser).optionCheck),
	"tcp-smart-accept":             kwNeutral(inDefFE, whyTCPTuning).negatable(),
	"tcp-smart-connect":            kwNeutral(inDefBE, whyTCPTuning).negatable(),
	"tcpka":                        kwNeutral(inAll, whyTCPTuning),
	"tcplog":                       kwMapped(inAll, (*parser).logOption).negatable(),
	"transparent":                  kwRefused(inDefBE, "HAProxy connects to the address the client asked for (transparent proxying)").negatable(),
	"idle-close-on-response":       kwNeutral(inDefFE, "it only decides when idle client connections close during a reload").negatable(),

	// Options HAProxy 2.6 no longer accepts.
	"http-tunnel": kwRemoved(inAll, "removed in HAProxy 2.1: remove it"),
	"forceclose":  kwRemoved(inAll, "removed in HAProxy 2.0: remove it, or use 'option httpclose'"),
	"http_proxy":  kwRemoved(inAll, "removed in HAProxy 2.5"),
}

// timeouts says where each "timeout NAME" goes.
var timeouts = map[string]keyword{
	"check":           kwMapped(inDefBE, (*parser).timeout),
	"client":          kwMapped(inDefFE, (*parser).timeout),
	"client-fin":      kwNeutral(inDefFE, "it only bounds half-closed client connections"),
	"connect":         kwMapped(inDefBE, (*parser).timeout),
	"http-keep-alive": kwMapped(inAll, (*parser).timeout).httpOnly(),
	"http-request":    kwMapped(inAll, (*parser).timeout).httpOnly(),
	"queue":           kwMapped(inDefBE, (*parser).timeout),
	"server":          kwMapped(inDefBE, (*parser).timeout),
	"server-fin":      kwNeutral(inDefBE, "it only bounds half-closed server connections"),
	"tarpit":          kwNeutral(inAll, "it only matters for tarpit rules, which rule validation checks"),
	"tunnel":          kwMapped(inDefBE, (*parser).timeout),
}

// httpChecks are the "http-check" rules.
var httpChecks = map[string]keyword{
	"comment":        kwMapped(inDefBE, (*parser).httpCheck),
	"connect":        kwMapped(inDefBE, (*parser).httpCheck),
	"disable-on-404": kwMapped(inDefBE, (*parser).httpCheck),
	"expect":         kwMapped(inDefBE, (*parser).httpCheck),
	"send":           kwMapped(inDefBE, (*parser).httpCheck),
	"send-state":     kwRefused(inDefBE, "HAProxy adds an X-Haproxy-Server-State header to every check; tandem does not"),
	"set-var":        kwRefused(inDefBE, whyCheckVars),
	"set-var-fmt":    kwRefused(inDefBE, whyCheckVars),
	"unset-var":      kwRefused(inDefBE, whyCheckVars),
}

// tcpChecks are the "tcp-check" rules.
var tcpChecks = map[string]keyword{
	"comment":        kwMapped(inDefBE, (*parser).tcpCheck),
	"connect":        kwMapped(inDefBE, (*parser).tcpCheck),
	"expect":         kwMapped(inDefBE, (*parser).tcpCheck),
	"send":           kwMapped(inDefBE, (*parser).tcpCheck),
	"send-lf":        kwMapped(inDefBE, (*parser).tcpCheck),
	"send-binary":    kwMapped(inDefBE, (*parser).tcpCheck),
	"send-binary-lf": kwMapped(inDefBE, (*parser).tcpCheck),
	"set-var":        kwRefused(inDefBE, whyCheckVars),
	"set-var-fmt":    kwRefused(inDefBE, whyCheckVars),
	"unset-var":      kwRefused(inDefBE, whyCheckVars),
}

// statsKeywords are the "stats" sub-keywords; what a section with them
// becomes is decided when the file is read (stats.go).
var statsKeywords = map[string]where{
	"admin": inProxy, "auth": inAll, "enable": inAll, "hide-version": inAll,
	"http-request": inProxy, "realm": inAll, "refresh": inAll, "scope": inAll,
	"show-desc": inAll, "show-legends": inAll, "show-modules": inAll, "show-node": inAll, "uri": inAll,
}

// tcpRequestKinds are the "tcp-request" rule sets, with where they may be written.
var tcpRequestKinds = map[string]keyword{
	"connection":    kwMapped(inNamedDefaults|inFrontend, (*parser).tcpRequest).strict(),
	"session":       kwMapped(inNamedDefaults|inFrontend, (*parser).tcpRequest).strict(),
	"content":       kwMapped(inRules, (*parser).tcpRequest),
	"inspect-delay": kwMapped(inRules, (*parser).tcpRequest),
}

// subKeywords are the keywords whose first argument selects the row.
var subKeywords = map[string]map[string]keyword{
	"option":      options,
	"timeout":     timeouts,
	"tcp-request": tcpRequestKinds,
	"http-check":  httpChecks,
	"tcp-check":   tcpChecks,
}

// lookupKeyword finds the row of l, and the name to write in messages
// ("option httpchk"). ok is false for an unknown keyword.
func lookupKeyword(l line) (kw keyword, name string, ok bool) {
	if sub, has := subKeywords[l.kw]; has {
		if len(l.args) == 0 {
			return keyword{}, l.kw, false
		}
		name := l.args[0]
		if i := strings.IndexByte(name, '('); i > 0 && (l.kw == "tcp-check" || l.kw == "http-check") {
			name = name[:i] // set-var(check.port)
		}
		kw, ok = sub[name]
		return kw, l.kw + " " + name, ok
	}
	if len(l.args) > 0 {
		two := l.kw + " " + l.args[0]
		if kw, ok := keywords[two]; ok {
			return kw, two, true
		}
	}
	kw, ok = keywords[l.kw]
	return kw, l.kw, ok
}

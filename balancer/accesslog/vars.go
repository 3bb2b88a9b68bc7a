package accesslog

// kind is what one node of a Program emits.
type kind uint8

const (
	kText   kind = iota // literal text
	kSep                // one space, merged with the previous one
	kSample             // %[fetch,conv...]

	kBytesOut     // %B
	kReqCookie    // %CC
	kResCookie    // %CS
	kHostname     // %H
	kMethod       // %HM
	kPath         // %HP
	kPathOnly     // %HPO
	kQuery        // %HQ
	kURI          // %HU
	kVersion      // %HV
	kUniqueID     // %ID
	kStatus       // %ST
	kDateGMT      // %T
	kTa           // %Ta
	kTc           // %Tc
	kTd           // %Td
	kDateLocal    // %Tl
	kTh           // %Th
	kTi           // %Ti
	kTq           // %Tq
	kTr           // %Tr
	kTR           // %TR
	kTs           // %Ts
	kTt           // %Tt
	kTu           // %Tu
	kTw           // %Tw
	kBytesIn      // %U
	kActConn      // %ac
	kBackend      // %b
	kBeConn       // %bc
	kBackendIP    // %bi
	kBackendPort  // %bp
	kBackendQueue // %bq
	kClientIP     // %ci
	kClientPort   // %cp
	kFrontend     // %f
	kFeConn       // %fc
	kFrontendIP   // %fi
	kFrontendPort // %fp
	kFrontendXprt // %ft
	kLogCounter   // %lc
	kReqHeaders   // %hr
	kReqHdrList   // %hrl
	kResHeaders   // %hs
	kResHdrList   // %hsl
	kMillis       // %ms
	kPID          // %pid
	kRequest      // %r
	kRetries      // %rc
	kReqCounter   // %rt
	kServer       // %s
	kSrvConn      // %sc
	kServerIP     // %si
	kServerPort   // %sp
	kSrvQueue     // %sq
	kSSLCipher    // %sslc
	kSSLVersion   // %sslv
	kDate         // %t
	kReqDate      // %tr
	kReqDateGMT   // %trg
	kReqDateLocal // %trl
	kTerm         // %ts
	kTermCookie   // %tsc
	kMode         // "HTTP" or "TCP": only in ConnectLog's line
)

// variable is one entry of HAProxy's log-format variable table
// (section 8.2.6; src/log.c logformat_keywords).
type variable struct {
	kind kind
	http bool // HTTP mode only
}

// variables are the log-format variables by name. "%o" is handled by the
// parser: it sets the flags of the variables that follow.
var variables = map[string]variable{
	"B": {kBytesOut, false}, "CC": {kReqCookie, true}, "CS": {kResCookie, true},
	"H": {kHostname, false}, "HM": {kMethod, true}, "HP": {kPath, true},
	"HPO": {kPathOnly, true}, "HQ": {kQuery, true}, "HU": {kURI, true},
	"HV": {kVersion, true}, "ID": {kUniqueID, false}, "ST": {kStatus, false},
	"T": {kDateGMT, false}, "Ta": {kTa, true}, "Tc": {kTc, false},
	"Td": {kTd, false}, "Tl": {kDateLocal, false}, "Th": {kTh, false},
	"Ti": {kTi, true}, "Tq": {kTq, true}, "Tr": {kTr, true}, "TR": {kTR, true},
	"Ts": {kTs, false}, "Tt": {kTt, false}, "Tu": {kTu, false}, "Tw": {kTw, false},
	"U": {kBytesIn, false}, "ac": {kActConn, false}, "b": {kBackend, false},
	"bc": {kBeConn, false}, "bi": {kBackendIP, false}, "bp": {kBackendPort, false},
	"bq": {kBackendQueue, false}, "ci": {kClientIP, false}, "cp": {kClientPort, false},
	"f": {kFrontend, false}, "fc": {kFeConn, false}, "fi": {kFrontendIP, false},
	"fp": {kFrontendPort, false}, "ft": {kFrontendXprt, false}, "lc": {kLogCounter, false},
	"hr": {kReqHeaders, false}, "hrl": {kReqHdrList, false}, "hs": {kResHeaders, false},
	"hsl": {kResHdrList, false}, "ms": {kMillis, false}, "pid": {kPID, false},
	"r": {kRequest, true}, "rc": {kRetries, false}, "rt": {kReqCounter, false},
	"s": {kServer, false}, "sc": {kSrvConn, false}, "si": {kServerIP, false},
	"sp": {kServerPort, false}, "sq": {kSrvQueue, false}, "sslc": {kSSLCipher, false},
	"sslv": {kSSLVersion, false}, "t": {kDate, false}, "tr": {kReqDate, true},
	"trg": {kReqDateGMT, true}, "trl": {kReqDateLocal, true}, "ts": {kTerm, false},
	"tsc": {kTermCookie, false},
}

// Formats HAProxy declares internally for its options (sections 8.2.2 to
// 8.2.4, word for word).
const (
	// TCPLog is "option tcplog".
	TCPLog = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
	// HTTPLog is "option httplog".
	HTTPLog = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	// HTTPLogCLF is "option httplog clf".
	HTTPLogCLF = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
	// HTTPSLog is "option httpslog".
	HTTPSLog = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r " +
		"%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc"
)

package haproxy

// This file classifies the options of server, default-server and bind lines
// (configuration.txt 5.1 and 5.2), like keywords.go does for proxy keywords.

// serverOpt is one server or default-server option.
type serverOpt struct {
	arity int // how many values follow it
	class class
	fn    serverHandler // mapped options
	// tls: the option only configures TLS to the server, so without "ssl"
	// (which is refused) it changes nothing.
	tls bool
	why string
}

func sOpt(arity int, c class, why string) serverOpt {
	return serverOpt{arity: arity, class: c, why: why}
}

func sMapped(arity int, fn serverHandler) serverOpt {
	return serverOpt{arity: arity, class: mapped, fn: fn}
}

func sTLS(arity int) serverOpt {
	return serverOpt{arity: arity, class: neutral, tls: true, why: "it only configures TLS to the server, which needs 'ssl'"}
}

const (
	whyProxySSL   = "HAProxy adds TLVs about the client's TLS connection (PP2_TYPE_SSL) to the PROXY header; tandem sends ALPN, authority and CRC32C TLVs only"
	whyServerPool = "it only tunes how idle server connections are kept"
	whyResolve    = "it only tunes how the server's host name is resolved"
)

// serverOpts classifies every server option of HAProxy 2.6
// (configuration.txt 5.2).
var serverOpts = map[string]serverOpt{
	"check":                   sMapped(0, serverFlag),
	"no-check":                sMapped(0, serverFlag),
	"backup":                  sMapped(0, serverFlag),
	"no-backup":               sMapped(0, serverFlag),
	"disabled":                sMapped(0, serverFlag),
	"enabled":                 sMapped(0, serverFlag),
	"weight":                  sMapped(1, serverNumber),
	"maxconn":                 sMapped(1, serverNumber),
	"rise":                    sMapped(1, serverNumber),
	"fall":                    sMapped(1, serverNumber),
	"inter":                   sMapped(1, serverTime),
	"fastinter":               sMapped(1, serverTime),
	"downinter":               sMapped(1, serverTime),
	"slowstart":               sMapped(1, serverTime),
	"cookie":                  sMapped(1, serverCookie),
	"addr":                    sMapped(1, serverCheckOpt),
	"port":                    sMapped(1, serverCheckOpt),
	"agent-check":             sMapped(0, serverCheckOpt),
	"agent-addr":              sMapped(1, serverCheckOpt),
	"agent-inter":             sMapped(1, serverCheckOpt),
	"agent-port":              sMapped(1, serverCheckOpt),
	"agent-send":              sMapped(1, serverCheckOpt),
	"no-agent-check":          sMapped(0, serverCheckOpt),
	"check-send-proxy":        sMapped(0, serverCheckOpt),
	"check-ssl":               sMapped(0, serverCheckOpt),
	"no-check-ssl":            sMapped(0, serverCheckOpt),
	"check-alpn":              sMapped(1, serverCheckOpt),
	"check-proto":             sOpt(1, refused, "HAProxy speaks this protocol (e.g. h2) on health checks; tandem checks with HTTP/1"),
	"check-sni":               sMapped(1, serverCheckOpt),
	"check-via-socks4":        sOpt(0, refused, "HAProxy runs health checks through a SOCKS4 proxy"),
	"socks4":                  sOpt(1, refused, "HAProxy reaches this server through a SOCKS4 proxy"),
	"error-limit":             sMapped(1, serverCheckOpt),
	"id":                      sOpt(1, neutral, "numeric server IDs only show in HAProxy's stats and logs"),
	"init-addr":               sOpt(1, neutral, whyResolve),
	"resolvers":               sOpt(1, neutral, whyResolve),
	"resolve-net":             sOpt(1, neutral, whyResolve),
	"resolve-opts":            sOpt(1, neutral, whyResolve),
	"resolve-prefer":          sOpt(1, neutral, whyResolve),
	"log-proto":               sOpt(1, neutral, "it only applies to log servers"),
	"max-reuse":               sOpt(1, neutral, whyServerPool),
	"pool-low-conn":           sOpt(1, neutral, whyServerPool),
	"pool-max-conn":           sOpt(1, neutral, whyServerPool),
	"pool-purge-delay":        sOpt(1, neutral, whyServerPool),
	"idle-ping":               sOpt(1, neutral, whyServerPool),
	"tfo":                     sOpt(0, neutral, "TCP fast open only saves a round trip"),
	"no-tfo":                  sOpt(0, neutral, "TCP fast open only saves a round trip"),
	"tcp-ut":                  sOpt(1, neutral, whyTCPTuning),
	"shard":                   sOpt(1, neutral, "it only matters to HAProxy's peers"),
	"hash-key":                sOpt(1, neutral, "it only matters for hash-based balancing, which tandem refuses"),
	"guid":                    sOpt(1, neutral, "it only names the server"),
	"maxqueue":                sOpt(1, refused, "HAProxy answers 503 once this many requests wait for the server; tandem's queue has no per-server limit"),
	"minconn":                 sOpt(1, refused, "HAProxy scales this server's maxconn with the backend's load (minconn/fullconn); tandem's maxconn is fixed"),
	"namespace":               sOpt(1, refused, "HAProxy connects to the server from another network namespace"),
	"non-stick":               sOpt(0, refused, "HAProxy never sticks clients to this server; tandem does"),
	"stick":                   sOpt(0, neutral, "it restores the default: clients may stick to this server"),
	"observe":                 sMapped(1, serverCheckOpt),
	"on-error":                sMapped(1, serverCheckOpt),
	"on-marked-down":          sMapped(1, serverCheckOpt),
	"on-marked-up":            sMapped(1, serverCheckOpt),
	"proto":                   sOpt(1, refused, "HAProxy speaks this protocol (e.g. h2) to the server; tandem speaks HTTP/1.1"),
	"redir":                   sOpt(1, refused, "HAProxy answers GET and HEAD requests for this server with a redirect; tandem forwards them"),
	"send-proxy":              sMapped(0, serverProxyOpt),
	"send-proxy-v2":           sMapped(0, serverProxyOpt),
	"send-proxy-v2-ssl":       sOpt(0, refused, whyProxySSL),
	"send-proxy-v2-ssl-cn":    sOpt(0, refused, whyProxySSL),
	"proxy-v2-options":        sMapped(1, serverProxyOpt),
	"set-proxy-v2-tlv-fmt":    sOpt(1, refused, "HAProxy adds this custom TLV to the PROXY header; tandem sends ALPN, authority and CRC32C TLVs only"),
	"no-send-proxy":           sMapped(0, serverProxyOpt),
	"no-send-proxy-v2":        sMapped(0, serverProxyOpt),
	"no-send-proxy-v2-ssl":    sOpt(0, neutral, "tandem sends no SSL TLV"),
	"no-send-proxy-v2-ssl-cn": sOpt(0, neutral, "tandem sends no SSL TLV"),
	"source":                  sOpt(1, refused, "HAProxy connects to this server from a given source address (or transparently)"),
	"usesrc":                  sOpt(1, refused, "HAProxy connects to this server from the client's address (transparent)"),
	"interface":               sOpt(1, refused, "HAProxy connects to this server through a given interface"),
	"ssl":                     sOpt(0, refused, "HAProxy connects to this server over TLS; tandem connects in clear text (TLS to servers comes in a later issue)"),
	"no-ssl":                  sOpt(0, neutral, "tandem connects in clear text"),
	"track":                   sOpt(1, refused, "HAProxy takes this server's health from another server's checks; tandem checks each server itself"),
	"ws":                      sOpt(1, neutral, "WebSocket requests go over HTTP/1.1 to the server, as tandem does ('ws auto')"),
	"ca-file":                 sTLS(1),
	"crl-file":                sTLS(1),
	"crt":                     sTLS(1),
	"ciphers":                 sTLS(1),
	"ciphersuites":            sTLS(1),
	"curves":                  sTLS(1),
	"sigalgs":                 sTLS(1),
	"client-sigalgs":          sTLS(1),
	"sni":                     sTLS(1),
	"alpn":                    sTLS(1),
	"npn":                     sTLS(1),
	"verify":                  sTLS(1),
	"verifyhost":              sTLS(1),
	"no-verifyhost":           sTLS(0),
	"ssl-min-ver":             sTLS(1),
	"ssl-max-ver":             sTLS(1),
	"ssl-reuse":               sTLS(0),
	"no-ssl-reuse":            sTLS(0),
	"tls-tickets":             sTLS(0),
	"no-tls-tickets":          sTLS(0),
	"allow-0rtt":              sTLS(0),
	"force-sslv3":             sTLS(0),
	"force-tlsv10":            sTLS(0),
	"force-tlsv11":            sTLS(0),
	"force-tlsv12":            sTLS(0),
	"force-tlsv13":            sTLS(0),
	"no-sslv3":                sTLS(0),
	"no-tlsv10":               sTLS(0),
	"no-tlsv11":               sTLS(0),
	"no-tlsv12":               sTLS(0),
	"no-tlsv13":               sTLS(0),
}

// bindOpt is one bind option.
type bindOpt struct {
	arity int
	class class
	why   string
	fn    bindHandler // mapped options
}

const (
	whyUnixBind = "it only applies to UNIX sockets"
	whyListener = "it only tunes the listening socket or which threads serve it"
)

// bindOpts classifies every bind option of HAProxy 2.6 (configuration.txt
// 5.1) but the TLS ones (bindTLSOpts, bindtls.go).
var bindOpts = map[string]bindOpt{
	"accept-proxy":          {0, mapped, "", bindProxyOption},
	"accept-netscaler-cip":  {1, refused, "HAProxy reads the client address from a NetScaler CIP header; tandem does not", nil},
	"backlog":               {1, neutral, whyListener, nil},
	"ca-sign-file":          {1, refused, "HAProxy generates certificates on the fly (generate-certificates); tandem does not", nil},
	"ca-sign-pass":          {1, refused, "HAProxy generates certificates on the fly (generate-certificates); tandem does not", nil},
	"generate-certificates": {0, refused, "HAProxy generates certificates on the fly for any SNI; tandem does not", nil},
	"defer-accept":          {0, neutral, whyListener, nil},
	"expose-fd":             {1, neutral, whyUnixBind, nil},
	"gid":                   {1, neutral, whyUnixBind, nil},
	"group":                 {1, neutral, whyUnixBind, nil},
	"uid":                   {1, neutral, whyUnixBind, nil},
	"user":                  {1, neutral, whyUnixBind, nil},
	"mode":                  {1, neutral, whyUnixBind, nil},
	"level":                 {1, neutral, "it only applies to stats sockets", nil},
	"severity-output":       {1, neutral, "it only applies to stats sockets", nil},
	"id":                    {1, neutral, "numeric listener IDs only show in HAProxy's stats", nil},
	"name":                  {1, neutral, "listener names only show in HAProxy's stats", nil},
	"label":                 {1, neutral, "listener labels only show in HAProxy's stats", nil},
	"guid-prefix":           {1, neutral, "it only names the listener", nil},
	"interface":             {1, refused, "HAProxy binds to one network interface only; tandem binds the address on every interface", nil},
	"namespace":             {1, refused, "HAProxy listens in another network namespace", nil},
	"maxconn":               {1, neutral, "it only caps this one listener; the frontend's maxconn still applies", nil},
	"mss":                   {1, neutral, whyListener, nil},
	"nice":                  {1, neutral, whyListener, nil},
	"process":               {1, neutral, whyListener, nil},
	"thread":                {1, neutral, whyListener, nil},
	"shards":                {1, neutral, whyListener, nil},
	"tcp-ut":                {1, neutral, whyTCPTuning, nil},
	"tfo":                   {0, neutral, "TCP fast open only saves a round trip", nil},
	"v4v6":                  {0, neutral, whyListener, nil},
	"v6only":                {0, neutral, whyListener, nil},
	"idle-ping":             {1, neutral, whyListener, nil},
	"ktls":                  {1, neutral, whyListener, nil},
	"proto":                 {1, mapped, "", bindProtoOption},
	"quic-cc-algo":          {1, refused, "HAProxy serves QUIC (HTTP/3); tandem does not", nil},
	"quic-force-retry":      {0, refused, "HAProxy serves QUIC (HTTP/3); tandem does not", nil},
	"transparent":           {0, refused, "HAProxy accepts connections for any address (transparent proxying)", nil},
}

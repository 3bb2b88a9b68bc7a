package haproxy

import (
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// globalKeyword is one row of the global section's classification.
type globalKeyword struct {
	class class
	fn    func(p *parser, l line)
	why   string
}

const (
	whyProcess = "it configures the HAProxy process (user, threads, files, limits), which tandem's node settings and systemd unit do their own way"
	whyTLSGlob = "it tunes TLS, which tandem negotiates with Go's defaults (TLS 1.2 and 1.3)"
)

// globalKeywords classifies the global section's keywords (configuration.txt
// 3). Keywords starting with one of globalPrefixes are classified by it.
var globalKeywords = map[string]globalKeyword{
	"maxconn":   {mapped, (*parser).globalMaxConn, ""},
	"crt-base":  {mapped, (*parser).globalCrtBase, ""},
	"setenv":    {mapped, (*parser).globalSetenv, ""},
	"presetenv": {mapped, (*parser).globalSetenv, ""},
	"unsetenv":  {mapped, (*parser).globalSetenv, ""},
	"resetenv":  {mapped, (*parser).globalSetenv, ""},

	"ca-base":                               {mapped, (*parser).globalCaBase, ""},
	"ssl-default-bind-ciphers":              {mapped, (*parser).globalSSLBind, ""},
	"ssl-default-bind-ciphersuites":         {mapped, (*parser).globalSSLBind, ""},
	"ssl-default-bind-curves":               {mapped, (*parser).globalSSLBind, ""},
	"ssl-default-bind-options":              {mapped, (*parser).globalSSLBind, ""},
	"ssl-default-bind-sigalgs":              {refused, nil, "HAProxy limits the signature algorithms of every TLS bind's handshakes; Go's crypto/tls offers its own set"},
	"ssl-default-bind-client-sigalgs":       {refused, nil, "HAProxy limits the signature algorithms client certificates may use; Go's crypto/tls accepts its own set"},
	"chroot":                                {neutral, nil, whyProcess},
	"daemon":                                {neutral, nil, whyProcess},
	"master-worker":                         {neutral, nil, whyProcess},
	"user":                                  {neutral, nil, whyProcess},
	"group":                                 {neutral, nil, whyProcess},
	"uid":                                   {neutral, nil, whyProcess},
	"gid":                                   {neutral, nil, whyProcess},
	"pidfile":                               {neutral, nil, whyProcess},
	"nbproc":                                {neutral, nil, whyProcess},
	"nbthread":                              {neutral, nil, whyProcess},
	"thread-groups":                         {neutral, nil, whyProcess},
	"cpu-map":                               {neutral, nil, whyProcess},
	"ulimit-n":                              {neutral, nil, whyProcess},
	"node":                                  {neutral, nil, whyProcess},
	"description":                           {neutral, nil, "it is shown on HAProxy's stats page only"},
	"log":                                   {mapped, (*parser).globalLog, ""},
	"log-tag":                               {mapped, (*parser).globalLogTag, ""},
	"log-send-hostname":                     {mapped, (*parser).globalLogSendHostname, ""},
	"stats":                                 {mapped, (*parser).globalStats, ""},
	"hard-stop-after":                       {neutral, nil, "tandem drains connections on stop for drain_timeout (node settings)"},
	"grace":                                 {neutral, nil, "tandem drains connections on stop for drain_timeout (node settings)"},
	"spread-checks":                         {neutral, nil, "it only spreads health checks in time"},
	"server-state-file":                     {neutral, nil, "tandem replicates server states itself"},
	"server-state-base":                     {neutral, nil, "tandem replicates server states itself"},
	"default-path":                          {mapped, (*parser).globalDefaultPath, ""},
	"external-check":                        {neutral, nil, "external checks are refused where a backend uses them"},
	"insecure-fork-wanted":                  {neutral, nil, whyProcess},
	"insecure-setuid-wanted":                {neutral, nil, whyProcess},
	"localpeer":                             {neutral, nil, "tandem replicates its state through its own cluster"},
	"maxsslconn":                            {neutral, nil, "it caps TLS connections under load; the global maxconn still applies"},
	"maxconnrate":                           {neutral, nil, "it caps the accept rate under load; the global maxconn still applies"},
	"maxsessrate":                           {neutral, nil, "it caps the session rate under load; the global maxconn still applies"},
	"maxsslrate":                            {neutral, nil, "it caps the TLS handshake rate under load"},
	"maxcomprate":                           {neutral, nil, "compression is refused where it is used"},
	"maxcompcpuusage":                       {neutral, nil, "compression is refused where it is used"},
	"maxzlibmem":                            {neutral, nil, "compression is refused where it is used"},
	"maxpipes":                              {neutral, nil, whyProcess},
	"noepoll":                               {neutral, nil, whyProcess},
	"nokqueue":                              {neutral, nil, whyProcess},
	"noevports":                             {neutral, nil, whyProcess},
	"nopoll":                                {neutral, nil, whyProcess},
	"nosplice":                              {neutral, nil, whyProcess},
	"nogetaddrinfo":                         {neutral, nil, whyProcess},
	"noreuseport":                           {neutral, nil, whyProcess},
	"busy-polling":                          {neutral, nil, whyProcess},
	"set-dumpable":                          {neutral, nil, whyProcess},
	"strict-limits":                         {neutral, nil, whyProcess},
	"quiet":                                 {neutral, nil, whyProcess},
	"zero-warning":                          {neutral, nil, whyProcess},
	"debug":                                 {neutral, nil, whyProcess},
	"mworker-max-reloads":                   {neutral, nil, whyProcess},
	"numa-cpu-mapping":                      {neutral, nil, whyProcess},
	"pp2-never-send-local":                  {neutral, nil, "health checks send a LOCAL PROXY header with or without it (they name no client)"},
	"h1-case-adjust":                        {neutral, nil, "it only matters with option h1-case-adjust-bogus-*, which tandem refuses"},
	"h1-case-adjust-file":                   {neutral, nil, "it only matters with option h1-case-adjust-bogus-*, which tandem refuses"},
	"h2-workaround-bogus-websocket-clients": {neutral, nil, "tandem offers WebSocket over HTTP/1.1"},
	"expose-experimental-directives":        {neutral, nil, whyProcess},
	"issuers-chain-path":                    {neutral, nil, "tandem serves the certificate chain its PEM file holds"},
	"ssl-engine":                            {neutral, nil, whyTLSGlob},
	"ssl-mode-async":                        {neutral, nil, whyTLSGlob},
	"ssl-server-verify":                     {mapped, (*parser).globalSSLServer, ""},
	"ssl-default-server-ciphers":            {mapped, (*parser).globalSSLServer, ""},
	"ssl-default-server-ciphersuites":       {mapped, (*parser).globalSSLServer, ""},
	"ssl-default-server-curves":             {mapped, (*parser).globalSSLServer, ""},
	"ssl-default-server-options":            {mapped, (*parser).globalSSLServer, ""},
	"ssl-default-server-sigalgs":            {refused, nil, "HAProxy limits the signature algorithms of its TLS handshakes with servers; Go's crypto/tls offers its own set"},
	"ssl-default-server-client-sigalgs":     {refused, nil, "HAProxy limits the signature algorithms of its client certificates; Go's crypto/tls offers its own set"},
	"ssl-dh-param-file":                     {neutral, nil, whyTLSGlob},
	"ssl-load-extra-files":                  {neutral, nil, "tandem loads a certificate's key from its PEM or PEM.key, as HAProxy's default does"},
	"ssl-load-extra-del-ext":                {neutral, nil, whyTLSGlob},
	"ssl-skip-self-issued-ca":               {neutral, nil, whyTLSGlob},
	"lua-load":                              {neutral, nil, "Lua scripts change traffic only through rules, which rule validation refuses"},
	"lua-load-per-thread":                   {neutral, nil, "Lua scripts change traffic only through rules, which rule validation refuses"},
	"lua-prepend-path":                      {neutral, nil, "Lua scripts change traffic only through rules, which rule validation refuses"},
	"set-var":                               {refused, nil, "HAProxy sets this process-wide variable for rules to read; tandem has no process variables"},
	"set-var-fmt":                           {refused, nil, "HAProxy sets this process-wide variable for rules to read; tandem has no process variables"},
	"unix-bind":                             {neutral, nil, "tandem listens on TCP only"},
}

// globalPrefixes classify the families of global keywords.
var globalPrefixes = []struct {
	prefix string
	kw     globalKeyword
}{
	{"tune.", globalKeyword{neutral, nil, "it tunes buffers and limits of the HAProxy process"}},
	{"ssl-default-", globalKeyword{neutral, nil, whyTLSGlob}},
	{"profiling.", globalKeyword{neutral, nil, whyProcess}},
	{"httpclient.", globalKeyword{neutral, nil, "HAProxy's internal HTTP client serves Lua and the runtime API only"}},
	{"51degrees-", globalKeyword{neutral, nil, "device detection only feeds rules, which rule validation checks"}},
	{"deviceatlas-", globalKeyword{neutral, nil, "device detection only feeds rules, which rule validation checks"}},
	{"wurfl-", globalKeyword{neutral, nil, "device detection only feeds rules, which rule validation checks"}},
}

// globalSection reads "global".
type globalSection struct{}

func (globalSection) directive(p *parser, l line) {
	kw, ok := globalKeywords[l.kw]
	if !ok {
		for _, f := range globalPrefixes {
			if strings.HasPrefix(l.kw, f.prefix) {
				kw, ok = f.kw, true
			}
		}
	}
	switch {
	case !ok:
		p.refusef(nil, l.num, "unknown global keyword '%s': HAProxy 2.6 has no such keyword (tandem does not know what it would do)", l.name())
	case kw.class == mapped:
		kw.fn(p, l)
	case kw.class == neutral:
		p.warnf(nil, l.num, "'%s' ignored: %s", l.kw, kw.why)
	case kw.class == removed:
		p.errorf(nil, l.num, "'%s' is refused by HAProxy 2.6: %s", l.kw, kw.why)
	default:
		p.refusef(nil, l.num, "'%s': %s", l.kw, kw.why)
	}
}

func (p *parser) globalMaxConn(l line) {
	if v, ok := p.oneArg(nil, l); ok {
		if n, ok := p.intArg(nil, l.num, "maxconn", v, 0, 1<<31-1); ok {
			p.global.MaxConn = n
			p.lines["global.maxconn"] = l.num
		}
	}
}

func (p *parser) globalCaBase(l line) {
	if v, ok := p.oneArg(nil, l); ok {
		p.caBase = v
	}
}

func (p *parser) globalCrtBase(l line) {
	if v, ok := p.oneArg(nil, l); ok {
		p.crtBase = v
	}
}

// globalSetenv reads setenv, presetenv, unsetenv and resetenv, which change
// the environment the lines below expand from.
func (p *parser) globalSetenv(l line) {
	switch l.kw {
	case "setenv", "presetenv":
		if len(l.args) != 2 {
			p.errorf(nil, l.num, "'%s' wants a name and a value", l.kw)
			return
		}
		p.env.setenv(l.args[0], l.args[1], l.kw == "setenv")
	case "unsetenv":
		p.env.unsetenv(l.args...)
	case "resetenv":
		p.env.resetenv(l.args...)
	}
}

// userlist is a "userlist NAME" section.
type userlist struct {
	list config.Userlist
	line int
}

func (p *parser) openUserlist(l line) section {
	if len(l.args) != 1 {
		p.errorf(nil, l.num, "'userlist' wants one name, e.g. 'userlist admins'")
		return swallow{}
	}
	for _, u := range p.userlists {
		if u.list.Name == l.args[0] {
			p.errorf(nil, l.num, "duplicate userlist '%s' (first at line %d)", l.args[0], u.line)
			return swallow{}
		}
	}
	u := &userlist{list: config.Userlist{Name: l.args[0]}, line: l.num}
	p.userlists = append(p.userlists, u)
	p.lines["userlists["+u.list.Name+"]"] = l.num
	return u
}

// directive reads "group NAME [users U,...]" and
// "user NAME [password HASH | insecure-password PASS] [groups G,...]".
func (u *userlist) directive(p *parser, l line) {
	if len(l.args) == 0 || (l.kw != "user" && l.kw != "group") {
		p.errorf(nil, l.num, "a userlist holds 'user NAME ...' and 'group NAME ...' lines (got '%s')", l.String())
		return
	}
	name, opts := l.args[0], l.args[1:]
	if len(opts)%2 != 0 {
		p.errorf(nil, l.num, "'%s %s': each option wants a value", l.kw, name)
		return
	}
	if l.kw == "group" {
		g := config.Group{Name: name}
		for i := 0; i < len(opts); i += 2 {
			if opts[i] != "users" {
				p.errorf(nil, l.num, "unknown group option '%s' (want users)", opts[i])
				continue
			}
			g.Users = append(g.Users, strings.Split(opts[i+1], ",")...)
		}
		u.list.Groups = append(u.list.Groups, g)
		p.lines["userlists["+u.list.Name+"].groups["+name+"]"] = l.num
		return
	}
	usr := config.User{Name: name}
	for i := 0; i < len(opts); i += 2 {
		switch opts[i] {
		case "password":
			usr.Password = opts[i+1]
		case "insecure-password":
			usr.InsecurePassword = opts[i+1]
		case "groups":
			usr.Groups = append(usr.Groups, strings.Split(opts[i+1], ",")...)
		default:
			p.errorf(nil, l.num, "unknown user option '%s' (want password, insecure-password or groups)", opts[i])
		}
	}
	u.list.Users = append(u.list.Users, usr)
	p.lines["userlists["+u.list.Name+"].users["+name+"]"] = l.num
}

// httpErrors is an "http-errors NAME" section: errorfile lines that
// "errorfiles NAME" brings into proxies.
type httpErrors struct {
	files map[int]string
	line  int
}

func (p *parser) openHTTPErrors(l line) section {
	if len(l.args) != 1 {
		p.errorf(nil, l.num, "'http-errors' wants one name, e.g. 'http-errors site'")
		return swallow{}
	}
	if prev, ok := p.httpErrors[l.args[0]]; ok {
		p.errorf(nil, l.num, "duplicate http-errors section '%s' (first at line %d)", l.args[0], prev.line)
		return swallow{}
	}
	h := &httpErrors{files: map[int]string{}, line: l.num}
	p.httpErrors[l.args[0]] = h
	return h
}

func (h *httpErrors) directive(p *parser, l line) {
	if l.kw != "errorfile" || len(l.args) != 2 {
		p.errorf(nil, l.num, "an http-errors section holds 'errorfile STATUS FILE' lines (got '%s')", l.String())
		return
	}
	code, ok := p.errorStatus(nil, l, l.args[0])
	if !ok {
		return
	}
	p.readFile(nil, l.num, l.args[1], "error file")
	h.files[code] = l.args[1]
}

package haproxy

import (
	"strings"
	"testing"
)

// matrix is HAProxy 2.6's proxy keywords matrix (configuration.txt 4.1):
// keyword, sections (D: any defaults, N: named defaults only, F: frontend,
// L: listen, B: backend; '-' where it may not be written) and whether
// "no" applies (the matrix's "(*)").
var matrix = []struct {
	kw       string
	sections string
	neg      bool
}{
	{"acl", "NFLB", false},
	{"backlog", "DFL-", false},
	{"balance", "D-LB", false},
	{"bind", "-FL-", false},
	{"bind-process", "DFLB", false},
	{"capture cookie", "-FL-", false},
	{"capture request header", "-FL-", false},
	{"capture response header", "-FL-", false},
	{"clitcpka-cnt", "DFL-", false},
	{"clitcpka-idle", "DFL-", false},
	{"clitcpka-intvl", "DFL-", false},
	{"compression", "DFLB", false},
	{"cookie", "D-LB", false},
	{"declare capture", "-FL-", false},
	{"default-server", "D-LB", false},
	{"default_backend", "DFL-", false},
	{"description", "-FLB", false},
	{"disabled", "DFLB", false},
	{"dispatch", "--LB", false},
	{"email-alert from", "DFLB", false},
	{"email-alert level", "DFLB", false},
	{"email-alert mailers", "DFLB", false},
	{"email-alert myhostname", "DFLB", false},
	{"email-alert to", "DFLB", false},
	{"enabled", "DFLB", false},
	{"errorfile", "DFLB", false},
	{"errorfiles", "DFLB", false},
	{"errorloc", "DFLB", false},
	{"errorloc302", "DFLB", false},
	{"errorloc303", "DFLB", false},
	{"error-log-format", "DFL-", false},
	{"force-persist", "--LB", false},
	{"filter", "-FLB", false},
	{"fullconn", "D-LB", false},
	{"hash-type", "D-LB", false},
	{"http-after-response", "NFLB", false},
	{"http-check comment", "D-LB", false},
	{"http-check connect", "D-LB", false},
	{"http-check disable-on-404", "D-LB", false},
	{"http-check expect", "D-LB", false},
	{"http-check send", "D-LB", false},
	{"http-check send-state", "D-LB", false},
	{"http-check set-var", "D-LB", false},
	{"http-check unset-var", "D-LB", false},
	{"http-error", "DFLB", false},
	{"http-request", "NFLB", false},
	{"http-response", "NFLB", false},
	{"http-reuse", "D-LB", false},
	{"http-send-name-header", "D-LB", false},
	{"id", "-FLB", false},
	{"ignore-persist", "--LB", false},
	{"load-server-state-from-file", "D-LB", false},
	{"log", "DFLB", true},
	{"log-format", "DFL-", false},
	{"log-format-sd", "DFL-", false},
	{"log-tag", "DFLB", false},
	{"max-keep-alive-queue", "D-LB", false},
	{"maxconn", "DFL-", false},
	{"mode", "DFLB", false},
	{"monitor fail", "-FL-", false},
	{"monitor-uri", "DFL-", false},
	{"option abortonclose", "D-LB", true},
	{"option accept-invalid-http-request", "DFL-", true},
	{"option accept-invalid-http-response", "D-LB", true},
	{"option allbackups", "D-LB", true},
	{"option checkcache", "D-LB", true},
	{"option clitcpka", "DFL-", true},
	{"option contstats", "DFL-", true},
	{"option disable-h2-upgrade", "DFL-", true},
	{"option dontlog-normal", "DFL-", true},
	{"option dontlognull", "DFL-", true},
	{"option forwardfor", "DFLB", false},
	{"option h1-case-adjust-bogus-client", "DFL-", true},
	{"option h1-case-adjust-bogus-server", "D-LB", true},
	{"option http-buffer-request", "DFLB", true},
	{"option http-ignore-probes", "DFL-", true},
	{"option http-keep-alive", "DFLB", true},
	{"option http-no-delay", "DFLB", true},
	{"option http-pretend-keepalive", "D-LB", true},
	{"option http-restrict-req-hdr-names", "DFLB", false},
	{"option http-server-close", "DFLB", true},
	{"option http-use-proxy-header", "DFL-", true},
	{"option httpchk", "D-LB", false},
	{"option httpclose", "DFLB", true},
	{"option httplog", "DFL-", false},
	{"option httpslog", "DFL-", false},
	{"option independent-streams", "DFLB", true},
	{"option ldap-check", "D-LB", false},
	{"option external-check", "D-LB", false},
	{"option log-health-checks", "D-LB", true},
	{"option log-separate-errors", "DFL-", true},
	{"option logasap", "DFL-", true},
	{"option mysql-check", "D-LB", false},
	{"option nolinger", "DFLB", true},
	{"option originalto", "DFLB", false},
	{"option persist", "D-LB", true},
	{"option pgsql-check", "D-LB", false},
	{"option prefer-last-server", "D-LB", true},
	{"option redispatch", "D-LB", true},
	{"option redis-check", "D-LB", false},
	{"option smtpchk", "D-LB", false},
	{"option socket-stats", "DFL-", true},
	{"option splice-auto", "DFLB", true},
	{"option splice-request", "DFLB", true},
	{"option splice-response", "DFLB", true},
	{"option spop-check", "D-LB", false},
	{"option srvtcpka", "D-LB", true},
	{"option ssl-hello-chk", "D-LB", false},
	{"option tcp-check", "D-LB", false},
	{"option tcp-smart-accept", "DFL-", true},
	{"option tcp-smart-connect", "D-LB", true},
	{"option tcpka", "DFLB", false},
	{"option tcplog", "DFLB", false},
	{"option transparent", "D-LB", true},
	{"option idle-close-on-response", "DFL-", true},
	{"external-check command", "D-LB", false},
	{"external-check path", "D-LB", false},
	{"persist rdp-cookie", "D-LB", false},
	{"rate-limit sessions", "DFL-", false},
	{"redirect", "-FLB", false},
	{"retries", "D-LB", false},
	{"retry-on", "D-LB", false},
	{"server", "--LB", false},
	{"server-state-file-name", "D-LB", false},
	{"server-template", "--LB", false},
	{"source", "D-LB", false},
	{"srvtcpka-cnt", "D-LB", false},
	{"srvtcpka-idle", "D-LB", false},
	{"srvtcpka-intvl", "D-LB", false},
	{"stats admin", "-FLB", false},
	{"stats auth", "DFLB", false},
	{"stats enable", "DFLB", false},
	{"stats hide-version", "DFLB", false},
	{"stats http-request", "-FLB", false},
	{"stats realm", "DFLB", false},
	{"stats refresh", "DFLB", false},
	{"stats scope", "DFLB", false},
	{"stats show-desc", "DFLB", false},
	{"stats show-legends", "DFLB", false},
	{"stats show-node", "DFLB", false},
	{"stats uri", "DFLB", false},
	{"stick match", "--LB", false},
	{"stick on", "--LB", false},
	{"stick store-request", "--LB", false},
	{"stick store-response", "--LB", false},
	{"stick-table", "-FLB", false},
	{"tcp-check comment", "D-LB", false},
	{"tcp-check connect", "D-LB", false},
	{"tcp-check expect", "D-LB", false},
	{"tcp-check send", "D-LB", false},
	{"tcp-check send-lf", "D-LB", false},
	{"tcp-check send-binary", "D-LB", false},
	{"tcp-check send-binary-lf", "D-LB", false},
	{"tcp-check set-var", "D-LB", false},
	{"tcp-check unset-var", "D-LB", false},
	{"tcp-request connection", "NFL-", false},
	{"tcp-request content", "NFLB", false},
	{"tcp-request inspect-delay", "NFLB", false},
	{"tcp-request session", "NFL-", false},
	{"tcp-response content", "N-LB", false},
	{"tcp-response inspect-delay", "N-LB", false},
	{"timeout check", "D-LB", false},
	{"timeout client", "DFL-", false},
	{"timeout client-fin", "DFL-", false},
	{"timeout connect", "D-LB", false},
	{"timeout http-keep-alive", "DFLB", false},
	{"timeout http-request", "DFLB", false},
	{"timeout queue", "D-LB", false},
	{"timeout server", "D-LB", false},
	{"timeout server-fin", "D-LB", false},
	{"timeout tarpit", "DFLB", false},
	{"timeout tunnel", "D-LB", false},
	{"transparent", "D-LB", false},
	{"unique-id-format", "DFL-", false},
	{"unique-id-header", "DFL-", false},
	{"use_backend", "-FL-", false},
	{"use-fcgi-app", "--LB", false},
	{"use-server", "--LB", false},
}

// lineOf splits "option httpchk" into a line.
func kwLine(kw string) line {
	w := strings.Fields(kw)
	return line{num: 1, kw: w[0], args: w[1:]}
}

// TestKeywordMatrix checks that the classification has a row for every
// keyword of HAProxy 2.6's matrix, allowed in the same sections.
func TestKeywordMatrix(t *testing.T) {
	for _, m := range matrix {
		kw, name, ok := lookupKeyword(kwLine(m.kw))
		if !ok {
			t.Errorf("%q: no row in the classification", m.kw)
			continue
		}
		w := kw.where
		if sub, isStats := strings.CutPrefix(m.kw, "stats "); isStats {
			w = statsKeywords[sub]
		}
		got := string([]byte{
			pickByte(w&inDefaults != 0, 'D', pickByte(w&inNamedDefaults != 0, 'N', '-')),
			pickByte(w&inFrontend != 0, 'F', '-'),
			pickByte(w&inProxy != 0, 'L', '-'),
			pickByte(w&inBackend != 0, 'B', '-'),
		})
		if got != m.sections {
			t.Errorf("%q (row %q): sections %s, the matrix says %s", m.kw, name, got, m.sections)
		}
		if m.neg && !kw.neg {
			t.Errorf("%q: the matrix allows 'no', the row does not", m.kw)
		}
	}
}

func pickByte(c bool, a, b byte) byte {
	if c {
		return a
	}
	return b
}

// at returns the messages of line num.
func at(msgs []string, num string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, "t.cfg:"+num+":") {
			out = append(out, m)
		}
	}
	return out
}

// classCase places one directive on line 4 of a listen section in mode
// http and checks what its class promises: refused is an error (a
// "--lenient:" warning with --lenient), neutral a warning, removed an
// error.
func classCase(t *testing.T, directive string, c class, hasFn bool) {
	t.Helper()
	cfg := "listen l\n mode http\n bind :80\n " + directive + "\n server s 10.0.0.1:80\n"
	for _, lenient := range []bool{false, true} {
		_, warns, errs := translateCfg(cfg, Options{Lenient: lenient})
		w, e := at(warnStrings(warns), "4"), at(errStrings(errs), "4")
		var ok bool
		switch {
		case c == neutral:
			ok = len(w) == 1 && len(e) == 0 && strings.Contains(w[0], "ignored")
		case c == refused && !lenient, c == removed && !(lenient && hasFn):
			ok = len(w) == 0 && len(e) == 1
		case c == refused, c == removed:
			ok = len(w) == 1 && len(e) == 0 && strings.Contains(w[0], "--lenient: ")
		}
		if !ok {
			t.Errorf("%q (lenient %v): warnings %q errors %q", directive, lenient, w, e)
		}
	}
}

// TestEveryKeywordClass checks every neutral, refused and removed row of
// the classification tables, so that none says one thing and does another.
func TestEveryKeywordClass(t *testing.T) {
	for name, kw := range keywords {
		if kw.class != mapped {
			classCase(t, name+" 5s", kw.class, kw.fn != nil)
		}
	}
	for table, rows := range subKeywords {
		for name, kw := range rows {
			if kw.class != mapped {
				classCase(t, table+" "+name+" 5s", kw.class, kw.fn != nil)
			}
		}
	}
}

// TestEveryServerAndBindOption checks every server and bind option row.
func TestEveryServerAndBindOption(t *testing.T) {
	for name, o := range serverOpts {
		if o.class == mapped {
			continue
		}
		directive := "server s2 10.0.0.2:80 " + name + strings.Repeat(" x", o.arity)
		c := o.class
		if name == "ws" {
			classCase(t, "server s2 10.0.0.2:80 ws auto", neutral, false)
			directive, c = "server s2 10.0.0.2:80 ws h2", refused
		}
		if o.tls {
			c = neutral
		}
		classCase(t, directive, c, false)
		if o.tls && name != "ssl" {
			// With ssl, which is refused, a TLS setting says nothing more.
			_, warns, errs := translateCfg("backend b\n server s 10.0.0.1:443 ssl "+name+strings.Repeat(" x", o.arity)+"\n", Options{})
			if len(errs) != 1 || len(at(warnStrings(warns), "2")) != 0 {
				t.Errorf("ssl %s: warnings %q errors %q, want the ssl error only", name, warnStrings(warns), errStrings(errs))
			}
		}
	}
	for name, o := range bindOpts {
		if _, tls := bindTLSOpts[name]; o.class == mapped || tls {
			continue
		}
		classCase(t, "bind :81 "+name+strings.Repeat(" x", o.arity), o.class, false)
	}
	for name, o := range bindTLSOpts {
		if o.class == mapped {
			continue
		}
		classCase(t, "bind :81 "+name+strings.Repeat(" x", o.arity), o.class, false)
	}
	for name, g := range globalKeywords {
		if g.class == mapped {
			continue
		}
		_, warns, errs := translateCfg("global\n "+name+" x\n", Options{})
		if g.class == neutral && (len(warns) != 1 || len(errs) != 0) || g.class != neutral && len(errs) != 1 {
			t.Errorf("global %s: warnings %q errors %q", name, warnStrings(warns), errStrings(errs))
		}
	}
}

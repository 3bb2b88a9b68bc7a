package health

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// The protocol checks, each a ruleset as HAProxy 2.6 builds them in
// tcpcheck.c (proxy_parse_*_opt): the same bytes sent, the same matches,
// the same check statuses. Where HAProxy matches with a custom function
// (MySQL packets, the LDAP bind response, the agent's line) the step has
// a custom matcher; everything else is a plain string, regex or binary
// expect.

func protocolRuleset(hc *config.HealthCheck) (*ruleset, error) {
	switch hc.Type {
	case config.CheckRedis:
		return redisCheck(), nil
	case config.CheckMySQL:
		return mysqlCheck(hc.User, hc.MySQLPre41), nil
	case config.CheckPgSQL:
		return pgsqlCheck(hc.User), nil
	case config.CheckSMTP:
		return smtpCheck(orDefault(hc.Hello, "HELO localhost")), nil
	case config.CheckLDAP:
		return ldapCheck(), nil
	case config.CheckSSLHello:
		return sslHelloCheck(), nil
	}
	return nil, fmt.Errorf("unknown check type %v", hc.Type)
}

func sendBytes(b []byte, desc string) step {
	return step{kind: stepSend, send: &sendStep{data: b, desc: desc}}
}

func expectStepOf(e *expectStep) step { return step{kind: stepExpect, expect: e} }

// redisCheck: PING, expect "+PONG" (option redis-check).
func redisCheck() *ruleset {
	return &ruleset{proto: "redis-check", steps: []step{
		implicitConnect(),
		sendBytes([]byte("*1\r\n$4\r\nPING\r\n"), "send PING"),
		expectStepOf(&expectStep{match: config.MatchString, lit: []byte("+PONG\r\n"), minRecv: -1,
			errStatus: "L7STS", errorFromRead: 1, onSuccess: "Redis server is ok", desc: "expect string \"+PONG\""}),
	}}
}

// pgsqlCheck: a StartupMessage for user, then expect no ErrorResponse and
// an Authentication request (option pgsql-check).
func pgsqlCheck(user string) *ruleset {
	msg := make([]byte, 4, 15+len(user))
	binary.BigEndian.PutUint32(msg, uint32(15+len(user)))
	msg = append(msg, 0, 3, 0, 0) // protocol 3.0
	msg = append(msg, "user\x00"...)
	msg = append(msg, user...)
	msg = append(msg, 0, 0)
	return &ruleset{proto: "pgsql-check", steps: []step{
		implicitConnect(),
		sendBytes(msg, "send StartupMessage user "+user),
		expectStepOf(&expectStep{custom: pgsqlNoError, desc: "expect no ErrorResponse", errStatus: "L7RSP"}),
		expectStepOf(&expectStep{match: config.MatchRBinary, re: mustRegexp("^52000000(08|0A|0C)000000(00|02|03|04|05|06)"),
			minRecv: 9, errStatus: "L7STS", onSuccess: "PostgreSQL server is ok", onError: "PostgreSQL unknown error",
			desc: "expect Authentication request"}),
	}}
}

// pgsqlNoError is HAProxy's "expect !rstring ^E min-recv 5", whose error
// message shows the server's: an ErrorResponse's severity and message
// fields (`FATAL: role "x" does not exist`).
func pgsqlNoError(x *evalCtx) outcome {
	if len(x.buf) < 5 && !x.last {
		return wait()
	}
	if len(x.buf) == 0 || x.buf[0] != 'E' {
		return outcome{r: evalContinue}
	}
	fields := map[byte]string{}
	for _, f := range strings.Split(string(x.buf[min(5, len(x.buf)):]), "\x00") {
		if len(f) > 1 {
			fields[f[0]] = f[1:]
		}
	}
	msg := strings.TrimPrefix(fields['S']+": "+fields['M'], ": ")
	return outcome{r: evalStop, status: "L7RSP", msg: msg}
}

// smtpCheck: a 2xx greeting, hello, a 2xx answer (option smtpchk).
func smtpCheck(hello string) *ruleset {
	return &ruleset{proto: "smtp-check", steps: []step{
		implicitConnect(),
		expectStepOf(&expectStep{match: config.MatchRString, re: mustRegexp(`^[0-9]{3}[ \r]`), minRecv: 4,
			errStatus: "L7RSP", errorFromRead: 1, desc: "expect greeting"}),
		expectStepOf(&expectStep{match: config.MatchRString, re: mustRegexp(`^2[0-9]{2}[ \r]`), minRecv: 4,
			errStatus: "L7STS", errorFromRead: 5, codeFromRead: true, desc: "expect 2xx greeting"}),
		sendBytes([]byte(hello+"\r\n"), "send "+hello),
		expectStepOf(&expectStep{match: config.MatchRString, re: mustRegexp(`^2[0-9]{2}[- \r]`), minRecv: 4,
			errStatus: "L7STS", errorFromRead: 5, successFromRead: 5, codeFromRead: true, desc: "expect 2xx answer"}),
	}}
}

// ldapCheck: an anonymous simple bind, expect a successful bind response
// (option ldap-check).
func ldapCheck() *ruleset {
	bind := []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}
	return &ruleset{proto: "ldap-check", steps: []step{
		implicitConnect(),
		sendBytes(bind, "send bind request"),
		expectStepOf(&expectStep{match: config.MatchRBinary, re: mustRegexp("^30"), minRecv: 14,
			errStatus: "L7RSP", onError: "Not LDAPv3 protocol", desc: "expect LDAP message"}),
		expectStepOf(&expectStep{custom: ldapBindResponse, desc: "expect bind response", errStatus: "L7RSP"}),
	}}
}

// ldapBindResponse checks an LDAPMessage holding a bindResponse whose
// resultCode is success (RFC 4511 4.2.2, 4.1.9).
func ldapBindResponse(x *evalCtx) outcome {
	b := x.buf
	short := func() outcome {
		if !x.last {
			return wait()
		}
		return outcome{r: evalStop, status: "L7RSP", msg: "Not LDAPv3 protocol"}
	}
	notLDAP := outcome{r: evalStop, status: "L7RSP", msg: "Not LDAPv3 protocol"}
	if len(b) < 2 {
		return short()
	}
	p, msgLen := 1, 0
	if b[p]&0x80 != 0 {
		n := int(b[p] & 0x7f)
		if len(b) < 2+n {
			return short()
		}
		switch n {
		case 4:
			msgLen = int(binary.BigEndian.Uint32(b[p+1:]))
		case 2:
			msgLen = int(binary.BigEndian.Uint16(b[p+1:]))
		default:
			return notLDAP
		}
		p += 1 + n
	} else {
		msgLen = int(b[p])
		p++
	}
	if len(b) < p+msgLen || len(b) < p+4 {
		return short()
	}
	if string(b[p:p+4]) != "\x02\x01\x01\x61" { // messageID 1, bindResponse
		return notLDAP
	}
	p += 4
	if p < len(b) && b[p]&0x80 != 0 {
		p += int(b[p] & 0x7f)
	}
	p++
	if len(b) < p+3 || b[p] != 0x0a || b[p+1] != 0x01 { // ldapResult: ENUMERATED
		return notLDAP
	}
	if code := int(b[p+2]); code != 0 {
		*x.code = code
		return outcome{r: evalStop, status: "L7STS", msg: fmt.Sprintf("bind resultCode %d (RFC 4511 4.1.9)", code)}
	}
	return outcome{r: evalContinue, msg: "Success"}
}

// mysqlCheck reads the server's greeting; with a user it logs in without
// a password and quits (option mysql-check [user U [post-41|pre-41]]).
func mysqlCheck(user string, pre41 bool) *ruleset {
	rs := &ruleset{proto: "mysql-check", steps: []step{implicitConnect()}}
	if user != "" {
		rs.steps = append(rs.steps, sendBytes(mysqlLogin(user, pre41), "send login user "+user))
	}
	rs.steps = append(rs.steps, expectStepOf(&expectStep{custom: mysqlPacketAt(false), desc: "expect greeting", errStatus: "L7RSP"}))
	if user != "" {
		rs.steps = append(rs.steps, expectStepOf(&expectStep{custom: mysqlPacketAt(true), desc: "expect login OK", errStatus: "L7RSP"}))
	}
	return rs
}

// mysqlLogin is a client authentication packet for user, without a
// password, followed by COM_QUIT.
func mysqlLogin(user string, pre41 bool) []byte {
	var body []byte
	if pre41 {
		body = append(body, 0x00, 0x80, 0x00, 0x00, 0x01) // capabilities, max packet
	} else {
		body = append(body, 0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21) // capabilities, max packet, utf8
		body = append(body, make([]byte, 23)...)
	}
	body = append(body, user...)
	body = append(body, 0, 0) // NUL, then an empty auth response
	n := len(body)
	pkt := []byte{byte(n), byte(n >> 8), byte(n >> 16), 1}
	pkt = append(pkt, body...)
	return append(pkt, 0x01, 0x00, 0x00, 0x00, 0x01) // COM_QUIT
}

// mysqlPacketAt checks one MySQL packet: the greeting (at 0) or the answer
// after it. An error packet (0xff) fails with its code and message; the
// last rule passes with the server's version.
func mysqlPacketAt(afterGreeting bool) func(x *evalCtx) outcome {
	return func(x *evalCtx) outcome {
		b := x.buf
		truncated := func() outcome {
			if !x.last {
				return wait()
			}
			return outcome{r: evalStop, status: "L7RSP", msg: "truncated MySQL packet " + quote(b)}
		}
		off := 0
		if afterGreeting {
			if len(b) < 3 {
				return truncated()
			}
			off = 4 + le24(b)
		}
		if len(b) < off+4 {
			return truncated()
		}
		plen := le24(b[off:])
		if len(b) < off+4+plen {
			return truncated()
		}
		if plen > 0 && b[off+4] == 0xff {
			msg := ""
			if plen >= 3 {
				*x.code = int(binary.LittleEndian.Uint16(b[off+5:]))
				msg = string(b[off+7 : off+4+plen])
				if len(msg) > 6 && msg[0] == '#' {
					msg = msg[6:] // the SQL state
				}
			}
			return outcome{r: evalStop, status: "L7STS", msg: msg}
		}
		if !x.isLast {
			return outcome{r: evalContinue}
		}
		version := ""
		if len(b) > 5 {
			version, _, _ = strings.Cut(string(b[5:]), "\x00")
		}
		return outcome{r: evalContinue, msg: version}
	}
}

func le24(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

// sslHelloCheck: an SSLv3 ClientHello, expect a handshake or alert record
// (option ssl-hello-chk), with HAProxy's L6 statuses.
func sslHelloCheck() *ruleset {
	return &ruleset{proto: "ssl-hello-chk", steps: []step{
		implicitConnect(),
		{kind: stepSend, send: &sendStep{build: sslv3ClientHello, desc: "send SSLv3 ClientHello"}},
		expectStepOf(&expectStep{match: config.MatchRBinary, re: mustRegexp("^1[56]"), minRecv: 5,
			okStatus: "L6OK", errStatus: "L6RSP", toutStatus: "L6TOUT", desc: "expect TLS record"}),
	}}
}

// sslv3ClientHello is the ClientHello HAProxy sends: SSLv3, the time, a
// fixed random, 39 common cipher suites, no compression.
func sslv3ClientHello() []byte {
	b := []byte{0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00}
	b = binary.BigEndian.AppendUint32(b, uint32(time.Now().Unix()))
	b = append(b, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n"...)
	b = append(b, 0x00, 0x00, 0x4e) // no session ID, 78 bytes of ciphers
	for c := uint16(0x01); c <= 0x1b; c++ {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	for c := uint16(0x2f); c <= 0x3a; c++ {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	return append(b, 0x01, 0x00) // one compression method: null
}

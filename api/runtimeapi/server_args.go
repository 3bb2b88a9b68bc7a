package runtimeapi

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// parseWeight is HAProxy's server_parse_weight_change_request: "N" is an
// absolute weight 0-256, "N%" is relative to the initial weight (capped at
// 256). A static algorithm only takes 0 and the initial weight. It returns
// the new weight or HAProxy's answer (some of HAProxy's answers have no
// trailing newline; they are kept so).
func parseWeight(s string, initial int, dynamic bool) (int, string) {
	if s == "" {
		return 0, "Require <weight> or <weight%>.\n"
	}
	w, rest, ok := strtol(s)
	switch {
	case !ok:
		return 0, "Empty weight string empty or preceded by garbage"
	case rest == "%":
		if w < 0 {
			return 0, "Relative weight must be positive.\n"
		}
		w = min(w, 25600)
		w = min(int64(initial)*w/100, 256)
	case w < 0 || w > 256:
		return 0, "Absolute weight can only be between 0 and 256 inclusive.\n"
	case rest != "":
		return 0, "Trailing garbage in weight string"
	}
	if w != 0 && int(w) != initial && !dynamic {
		return 0, "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
	}
	return int(w), ""
}

// parseMaxConn is HAProxy's server_parse_maxconn_change_request; tandem
// also refuses a negative maxconn (HAProxy takes it, and then never
// queues).
func parseMaxConn(s string) (int, string) {
	if s == "" {
		return 0, "Require <maxconn>.\n"
	}
	v, rest, ok := strtol(s)
	switch {
	case !ok:
		return 0, "maxconn string empty or preceded by garbage"
	case rest != "":
		return 0, "Trailing garbage in maxconn string"
	case v < 0 || v > 1<<30:
		return 0, "maxconn must be between 0 (unlimited) and 1073741824.\n"
	}
	return int(v), ""
}

// addrChange is HAProxy's srv_update_addr_port for "set server B/S addr
// IP [port N]": the new host:port and HAProxy's report, or only a report
// when nothing can change. cur is the server's current host:port; hasPort
// says the request had the word "port" (its value may then be empty).
func addrChange(cur, ip string, hasPort bool, port string) (next string, changed bool, report string) {
	const by = " by 'stats socket command'\n"
	curHost, curPort, err := net.SplitHostPort(cur)
	curIP, perr := netip.ParseAddr(curHost)
	newIP, nerr := netip.ParseAddr(ip)
	switch {
	case nerr != nil || newIP.Zone() != "":
		return "", false, fmt.Sprintf("Invalid addr '%s'", ip) + by
	case err != nil || perr != nil:
		return "", false, "Update for the current server address family is only supported through configuration file" + by
	}
	var msg string
	host := curHost
	if newIP.Unmap() == curIP.Unmap() {
		msg = "no need to change the addr"
	} else {
		host = newIP.String()
		changed = true
		msg = fmt.Sprintf("IP changed from '%s' to '%s'", curIP, ip)
	}
	newPort := curPort
	if hasPort {
		msg += ", "
		p, rest, ok := strtol(port)
		switch {
		case !ok:
			return "", false, msg + fmt.Sprintf("problem converting port '%s' to an int", port) + by
		case port[0] == '+' || port[0] == '-':
			return "", false, msg + "port maps (+N, -N) are not supported by tandem" + by
		case rest != "" || p < 1 || p > 65535:
			return "", false, msg + fmt.Sprintf("problem converting port '%s' to an int", port) + by
		}
		if strconv.Itoa(int(p)) == curPort {
			msg += "no need to change the port"
		} else {
			newPort = strconv.Itoa(int(p))
			changed = true
			msg += fmt.Sprintf("port changed from '%s' to '%d'", curPort, p)
		}
	}
	return net.JoinHostPort(host, newPort), changed, msg + by
}

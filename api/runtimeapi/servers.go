package runtimeapi

import (
	"fmt"
	"net"
	"strings"

	"github.com/tandem-lb/tandem/config"
)

// serversStateHeader is HAProxy 2.6's "show servers state" header
// (SRV_STATE_FILE_VERSION 1 and its field names).
const serversStateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

// HAProxy's server state numbers (SRV_ST_*, SRV_ADMF_*, HCHK_STATUS_*,
// CHK_RES_*, CHK_ST_*) as "show servers state" prints them.
const (
	opStopped  = 0
	opRunning  = 2
	opStopping = 3

	admForcedMaint  = 0x01
	admForcedDrain  = 0x08
	chkConfigured   = 0x02
	chkEnabled      = 0x04
	chkPaused       = 0x08
	chkResUnknown   = 0
	chkResFailed    = 2
	chkResPassed    = 3
	chkResCondPass  = 4
	hchkInitialised = 1
)

// checkStatusCodes are HAProxy's HCHK_STATUS_* numbers by short name.
var checkStatusCodes = map[string]int{
	"L4OK": 6, "L4TOUT": 7, "L4CON": 8, "L6OK": 9, "L6TOUT": 10, "L6RSP": 11,
	"L7TOUT": 12, "L7RSP": 13, "L7OK": 15, "L7OKC": 16, "L7STS": 17,
}

// renderServersState answers "show servers state [BACKEND]".
func renderServersState(v *View, backend string) string {
	var b strings.Builder
	if backend != "" && v.backend(backend) == nil {
		return "Can't find backend.\n"
	}
	b.WriteString(serversStateHeader)
	ids := proxyIDs(v)
	for _, be := range v.Backends {
		if backend != "" && be.Name != backend {
			continue
		}
		for i := range be.Servers {
			writeServerState(&b, ids[be.Name], be.Name, i+1, &be.Servers[i])
		}
	}
	return b.String()
}

func writeServerState(b *strings.Builder, iid int, backend string, sid int, s *ServerState) {
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil {
		host, port = s.Address, "0"
	}
	op := opRunning
	switch s.Health {
	case config.HealthDown:
		op = opStopped
	case config.HealthNoLB:
		op = opStopping
	}
	admin := 0
	switch s.Admin {
	case config.AdminMaint:
		admin = admForcedMaint
	case config.AdminDrain:
		admin = admForcedDrain
	}
	status, result, health, state := hchkInitialised, chkResUnknown, s.CheckRise, 0
	if s.Checked {
		state = chkConfigured
		if !s.CheckPaused {
			state |= chkEnabled
		}
		if s.Admin == config.AdminMaint {
			state |= chkPaused
		}
		code, _, _ := strings.Cut(s.CheckResult, " ")
		if n, ok := checkStatusCodes[code]; ok {
			status = n
			result = chkResPassed
			switch {
			case code == "L7OKC":
				result = chkResCondPass
			case !strings.HasSuffix(code, "OK"):
				result = chkResFailed
			}
		}
		health = s.CheckRise + s.CheckFall - 1
		if s.Health == config.HealthDown {
			health = 0
		}
	}
	fmt.Fprintf(b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d %d %d %s %s %s %d %d %s %s %d\n",
		iid, backend, sid, s.Name, host, op, admin, s.Weight, s.InitialWeight, 0,
		status, result, health, state, 0, 0, 0, "-", port, "-", 0, 0, "-", "-", 0)
}

// renderBackends answers "show backend".
func renderBackends(v *View) string {
	var b strings.Builder
	b.WriteString("# name\n")
	for _, be := range v.Backends {
		b.WriteString(be.Name + "\n")
	}
	return b.String()
}

package runtimeapi

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// haproxy26Header is the header line of Debian's haproxy 2.6.12 "show stat".
const haproxy26Header = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"

// parseCSV reads show stat's CSV into one map per row (column → value).
func parseCSV(t *testing.T, out string) []map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, out)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, name := range recs[0] {
			m[name] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func TestShowStatHeaderIsHAProxy26s(t *testing.T) {
	m := &memCluster{view: articleView()}
	got := run(t, m, LevelOperator, "show stat")
	if !strings.HasPrefix(got, haproxy26Header) {
		t.Fatalf("header differs from HAProxy 2.6's:\n got %q\nwant %q", strings.SplitAfter(got, "\n")[0], haproxy26Header)
	}
}

func TestShowStatFillsTandemsFigures(t *testing.T) {
	m := &memCluster{view: articleView()}
	rows := parseCSV(t, run(t, m, LevelOperator, "show stat"))
	want := []map[string]string{
		{"pxname": "http-in", "svname": "FRONTEND", "status": "OPEN", "scur": "1", "slim": "4096", "stot": "7", "req_tot": "9",
			"hrsp_2xx": "8", "hrsp_4xx": "1", "bin": "100", "bout": "2000", "iid": "2", "sid": "0", "type": "0", "pid": "1", "mode": "http", "req_rate": "3", "qcur": ""},
		{"pxname": "servers", "svname": "server1", "status": "UP", "weight": "1", "act": "1", "bck": "0", "iid": "3", "sid": "1", "type": "2",
			"check_status": "L7OK", "check_code": "200", "check_duration": "3", "check_desc": "Layer7 check passed", "last_chk": "",
			"check_rise": "2", "check_fall": "2", "check_health": "3", "addr": "127.0.0.1:8001", "slim": "10", "req_tot": "5", "lbtot": "5", "hrsp_2xx": "5", "rate": "2"},
		{"pxname": "servers", "svname": "server2", "status": "no check", "weight": "5", "check_status": "", "addr": "127.0.0.1:8002", "sid": "2", "req_tot": "4", "rate": ""},
		{"pxname": "servers", "svname": "BACKEND", "status": "UP", "weight": "6", "act": "2", "bck": "0", "type": "1", "algo": "roundrobin", "req_tot": "9"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		for k, v := range w {
			if rows[i][k] != v {
				t.Errorf("row %d (%s/%s) %s = %q, want %q", i, rows[i]["pxname"], rows[i]["svname"], k, rows[i][k], v)
			}
		}
		if rows[i]["-"] != "-" {
			t.Errorf("row %d: the column between proxy and module fields is %q, want -", i, rows[i]["-"])
		}
	}
}

func TestShowStatAtUserLevelHidesAddressesAndAlgorithm(t *testing.T) {
	m := &memCluster{view: articleView()}
	rows := parseCSV(t, run(t, m, LevelUser, "show stat"))
	for _, r := range rows {
		if r["addr"] != "" || r["algo"] != "" {
			t.Errorf("%s/%s: addr %q algo %q shown to a user-level socket", r["pxname"], r["svname"], r["addr"], r["algo"])
		}
	}
}

func TestShowStatStatusesAndFilters(t *testing.T) {
	m := &memCluster{view: articleView()}
	srvs := m.view.Backends[0].Servers
	srvs[0].Admin = config.AdminDrain
	srvs[1].Admin = config.AdminMaint
	rows := parseCSV(t, run(t, m, LevelOperator, "show stat"))
	if rows[1]["status"] != "DRAIN" || rows[2]["status"] != "MAINT" || rows[3]["weight"] != "0" {
		t.Errorf("statuses %q %q, backend weight %q; want DRAIN, MAINT, 0", rows[1]["status"], rows[2]["status"], rows[3]["weight"])
	}
	rows = parseCSV(t, run(t, m, LevelOperator, "show stat no-maint"))
	if len(rows) != 3 || rows[2]["status"] != "DOWN (1/2)" { // drained: weight 0, as HAProxy counts it
		t.Errorf("no-maint: %d rows, backend status %q; want 3 rows and DOWN (1/2)", len(rows), rows[len(rows)-1]["status"])
	}
	srvs[0].Admin, srvs[0].Health = config.AdminReady, config.HealthDown
	rows = parseCSV(t, run(t, m, LevelOperator, "show stat"))
	if rows[1]["status"] != "DOWN" || rows[1]["check_health"] != "0" || rows[3]["status"] != "DOWN" {
		t.Errorf("down: server %q health %q backend %q", rows[1]["status"], rows[1]["check_health"], rows[3]["status"])
	}
	for _, tt := range []struct {
		filter string
		rows   int
	}{{"-1 -1 -1", 4}, {"3 -1 -1", 3}, {"servers -1 -1", 3}, {"3 4 -1", 2}, {"3 4 2", 1}, {"2 1 -1", 1}, {"99 -1 -1", 0}} {
		out := run(t, m, LevelOperator, "show stat "+tt.filter)
		n := strings.Count(out, "\n") - 1
		if n != tt.rows {
			t.Errorf("show stat %s: %d rows, want %d:\n%s", tt.filter, n, tt.rows, out)
		}
	}
}

func TestShowStatTyped(t *testing.T) {
	m := &memCluster{view: articleView()}
	out := run(t, m, LevelOperator, "show stat typed")
	for _, want := range []string{
		"F.2.0.0.pxname.1:KNS:str:http-in\n",
		"F.2.0.17.status.1:SGP:str:OPEN\n",
		"S.3.1.17.status.1:SGP:str:UP\n",
		"S.3.1.56.last_chk.1:MOP:str:\n",
		"S.3.1.73.addr.1:CGS:str:127.0.0.1:8001\n",
		"B.3.0.76.algo.1:CGS:str:roundrobin\n",
		"S.3.2.18.weight.1:MaP:u32:5\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("typed output lacks %q", want)
		}
	}
	if strings.Contains(out, ".qmax.") {
		t.Error("typed output has qmax, which tandem does not track")
	}
}

func TestShowInfoParsesAsHatopAndTheExporterDo(t *testing.T) {
	m := &memCluster{view: articleView()}
	out := run(t, m, LevelUser, "show info")
	for _, want := range []string{"Name: tandem\n", "Version: 0.1.0\n", "Release_date: 2026/01/02\n", "Pid: 42\n",
		"Uptime: 0d 0h01m23s\n", "Uptime_sec: 83\n", "Maxconn: 4096\n", "CurrConns: 1\n", "CumReq: 9\n",
		"Tasks: 30\n", "Run_queue: 0\n", "Maxpipes: 0\n", "PipesUsed: 0\n", "Nbproc: 1\n", "Process_num: 1\n", "node: lb1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show info lacks %q:\n%s", want, out)
		}
	}
	typed := run(t, m, LevelUser, "show info typed")
	if !strings.HasPrefix(typed, "0.Name.1:POS:str:tandem\n1.Version.1:POS:str:0.1.0\n") || !strings.Contains(typed, "50.node.1:COS:str:lb1\n") {
		t.Errorf("show info typed:\n%s", typed)
	}
}

func TestShowServersState(t *testing.T) {
	m := &memCluster{view: articleView()}
	m.view.Backends[0].Servers[1].Admin = config.AdminDrain
	out := run(t, m, LevelUser, "show servers state servers")
	want := serversStateHeader +
		"3 servers 1 server1 127.0.0.1 2 0 1 1 0 15 3 3 6 0 0 0 - 8001 - 0 0 - - 0\n" +
		"3 servers 2 server2 127.0.0.1 2 8 5 5 0 1 0 2 0 0 0 0 - 8002 - 0 0 - - 0\n"
	if out != want {
		t.Errorf("show servers state:\n got %q\nwant %q", out, want)
	}
}

package runtimeapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// Object types of "show stat" (HAProxy's STATS_TYPE_*), also the bits of
// a filter's type mask (1 << type).
const (
	typeFrontend = 0
	typeBackend  = 1
	typeServer   = 2
)

// Column indexes used below (positions in statFields).
const (
	fPxname = iota
	fSvname
	fQcur
	fQmax
	fScur
	fSmax
	fSlim
	fStot
	fBin
	fBout
	fDreq
	fDresp
	fEreq
	fEcon
	fEresp
	fWretr
	fWredis
	fStatus
	fWeight
	fAct
	fBck
	fChkfail
	fChkdown
	fLastchg
	fDowntime
	fQlimit
	fPid
	fIid
	fSid
	fThrottle
	fLbtot
	fTracked
	fType
	fRate
	fRateLim
	fRateMax
	fCheckStatus
	fCheckCode
	fCheckDuration
	fHrsp1xx // then 2xx, 3xx, 4xx, 5xx, other
)

const (
	fReqRate     = 46
	fReqTot      = 48
	fLastChk     = 56
	fRtime       = 60
	fCheckDesc   = 65
	fCheckRise   = 67
	fCheckFall   = 68
	fCheckHealth = 69
	fAddr        = 73
	fCookie      = 74
	fMode        = 75
	fAlgo        = 76
	fConnRate    = 77
	fConnTot     = 79
	fConnect     = 84
	fUweight     = 99
)

// row is one line of "show stat": a value per static column, and whether
// it is set (an unset column is empty in CSV and absent in the typed form;
// a set one may be an empty string).
type row struct {
	typ  int
	iid  int
	sid  int
	vals [numStaticFields]string
	set  [numStaticFields]bool
}

func (r *row) setS(i int, v string)  { r.vals[i], r.set[i] = v, true }
func (r *row) setU(i int, v uint64)  { r.setS(i, strconv.FormatUint(v, 10)) }
func (r *row) setI(i int, v int64)   { r.setS(i, strconv.FormatInt(max(v, 0), 10)) }
func (r *row) setN(i int, v int)     { r.setS(i, strconv.Itoa(max(v, 0))) }
func (r *row) setBool(i int, v bool) { r.setS(i, map[bool]string{true: "1", false: "0"}[v]) }
func (r *row) rate(i int, perSec int) {
	if perSec >= 0 {
		r.setN(i, perSec)
	}
}

// proxyIDs numbers proxies as HAProxy does from 2 (1 is its internal
// one): frontends in config order, then the backends; a frontend and a
// backend of one name are one proxy (HAProxy's "listen").
func proxyIDs(v *View) map[string]int {
	ids := map[string]int{}
	next := 2
	for _, f := range v.Frontends {
		if _, ok := ids[f.Name]; !ok {
			ids[f.Name] = next
			next++
		}
	}
	for _, b := range v.Backends {
		if _, ok := ids[b.Name]; !ok {
			ids[b.Name] = next
			next++
		}
	}
	return ids
}

// statRows builds the rows in HAProxy's order: proxy by proxy, its
// FRONTEND line, then its servers, then its BACKEND line. legends (the
// socket's level is operator or more) adds the addr and algo columns.
func statRows(v *View, legends bool) []row {
	ids := proxyIDs(v)
	type proxy struct {
		fe *Frontend
		be *Backend
	}
	order := make([]proxy, len(ids)+2)
	for i := range v.Frontends {
		order[ids[v.Frontends[i].Name]].fe = &v.Frontends[i]
	}
	for i := range v.Backends {
		order[ids[v.Backends[i].Name]].be = &v.Backends[i]
	}
	var rows []row
	for iid, p := range order {
		if p.fe != nil {
			rows = append(rows, frontendRow(p.fe, iid))
		}
		if p.be != nil {
			for sid := range p.be.Servers {
				rows = append(rows, serverRow(p.be, &p.be.Servers[sid], iid, sid+1, legends))
			}
			rows = append(rows, backendRow(p.be, iid, legends))
		}
	}
	return rows
}

func frontendRow(f *Frontend, iid int) row {
	r := row{typ: typeFrontend, iid: iid}
	c := f.Counters
	r.setS(fPxname, f.Name)
	r.setS(fSvname, "FRONTEND")
	r.setI(fScur, c.CurConns)
	if f.MaxConn > 0 {
		r.setN(fSlim, f.MaxConn)
	}
	r.setI(fStot, c.TotalConns)
	r.setU(fBin, c.BytesIn)
	r.setU(fBout, c.BytesOut)
	r.setS(fStatus, map[bool]string{true: "OPEN", false: "STOP"}[f.Ready])
	r.ids(iid, 0, typeFrontend)
	r.rate(fRate, f.ConnRate)
	r.rate(fConnRate, f.ConnRate)
	r.setI(fConnTot, c.TotalConns)
	if f.Mode == config.ModeHTTP {
		r.http(c)
		r.rate(fReqRate, f.ReqRate)
	}
	r.setS(fMode, f.Mode.String())
	return r
}

func (r *row) ids(iid, sid, typ int) {
	r.setN(fPid, 1)
	r.setN(fIid, iid)
	r.setN(fSid, sid)
	r.setN(fType, typ)
	r.iid, r.sid = iid, sid
}

// http fills the HTTP-only columns (HAProxy leaves them empty in TCP mode).
func (r *row) http(c balancer.Counters) {
	for i, n := range c.Responses {
		// HAProxy's order is 1xx..5xx then other, as Counters.Responses.
		r.setU(fHrsp1xx+i, n)
	}
	r.setU(fReqTot, c.Requests)
}

// setTraffic fills the columns a server and a backend share: queue,
// sessions, their limit (maxConn 0: none), bytes, errors and retries.
func (r *row) setTraffic(c *balancer.Counters, maxConn int) {
	r.setI(fQcur, c.QueueLen)
	r.setI(fScur, c.InFlight)
	if maxConn > 0 {
		r.setN(fSlim, maxConn)
	}
	r.setU(fStot, c.Requests)
	r.setU(fBin, c.BytesIn)
	r.setU(fBout, c.BytesOut)
	r.setU(fEcon, c.ConnectErrors)
	r.setU(fEresp, c.ResponseErrors)
	r.setU(fWretr, c.Retries)
	r.setU(fWredis, c.Redispatches)
}

func serverRow(b *Backend, s *ServerState, iid, sid int, legends bool) row {
	r := row{typ: typeServer}
	c := s.Counters
	r.setS(fPxname, b.Name)
	r.setS(fSvname, s.Name)
	r.setTraffic(&c, s.MaxConn)
	r.setS(fStatus, serverStatus(s))
	r.setN(fWeight, s.Weight)
	r.setBool(fAct, !s.Backup)
	r.setBool(fBck, s.Backup)
	r.ids(iid, sid, typeServer)
	r.setU(fLbtot, c.Requests)
	r.rate(fRate, s.ReqRate)
	r.setU(fConnect, uint64(max(c.TotalConns, 0)))
	if b.Mode == config.ModeHTTP {
		r.http(c)
		if n := s.ResponseTime.Count(); n > 0 {
			r.setN(fRtime, int(s.ResponseTime.Sum.Milliseconds()/int64(n)))
		}
	}
	if s.Checked && !s.CheckPaused {
		r.check(s)
	}
	if legends {
		r.setS(fAddr, s.Address)
	}
	if b.Cookie != "" {
		r.setS(fCookie, s.Cookie)
	}
	r.setS(fMode, b.Mode.String())
	r.setN(fUweight, s.Weight)
	return r
}

// check fills the health-check columns from the last result, which the
// health package writes HAProxy's way ("L7OK 200", "L4CON connection
// refused").
func (r *row) check(s *ServerState) {
	code, rest, _ := strings.Cut(s.CheckResult, " ")
	if desc, ok := checkDescriptions[code]; ok {
		r.setS(fCheckStatus, code)
		r.setS(fCheckDesc, desc)
		if code[:2] != "L4" && s.CheckCode > 0 {
			r.setN(fCheckCode, s.CheckCode)
		}
		r.setN(fCheckDuration, int(s.CheckDuration.Milliseconds()))
		if _, err := strconv.Atoi(rest); err != nil {
			r.setS(fLastChk, rest) // an explanation, not the status code again
		} else {
			r.setS(fLastChk, "")
		}
	}
	r.setN(fCheckRise, s.CheckRise)
	r.setN(fCheckFall, s.CheckFall)
	health := s.CheckRise + s.CheckFall - 1 // HAProxy's counter when fully up
	if s.Health == config.HealthDown {
		health = 0
	}
	r.setN(fCheckHealth, health)
}

// checkDescriptions are HAProxy's descriptions of its check statuses.
var checkDescriptions = map[string]string{
	"L4OK": "Layer4 check passed", "L4TOUT": "Layer4 timeout", "L4CON": "Layer4 connection problem",
	"L6OK": "Layer6 check passed", "L6TOUT": "Layer6 timeout", "L6RSP": "Layer6 invalid response",
	"L7TOUT": "Layer7 timeout", "L7RSP": "Layer7 invalid response", "L7OK": "Layer7 check passed",
	"L7OKC": "Layer7 check conditionally passed", "L7STS": "Layer7 wrong status",
}

// serverStatus is HAProxy's status column for a server.
func serverStatus(s *ServerState) string {
	switch {
	case s.Admin == config.AdminMaint:
		return "MAINT"
	case s.Health == config.HealthDown:
		return "DOWN"
	case s.Health == config.HealthNoLB:
		return "NOLB"
	case s.Admin == config.AdminDrain:
		return "DRAIN"
	case !s.Checked || s.CheckPaused:
		return "no check"
	}
	return "UP"
}

// usable: the server may take traffic now, as HAProxy counts it for the
// backend's act/bck/weight (up, not in maintenance; draining counts, with
// weight 0).
func usable(s *ServerState) bool {
	return s.Admin != config.AdminMaint && s.Health != config.HealthDown
}

func backendRow(b *Backend, iid int, legends bool) row {
	r := row{typ: typeBackend}
	c := b.Counters
	r.setS(fPxname, b.Name)
	r.setS(fSvname, "BACKEND")
	r.setTraffic(&c, b.MaxConn)
	var act, bck, wAct, wBck int
	for i := range b.Servers {
		s := &b.Servers[i]
		if !usable(s) {
			continue
		}
		w := s.Weight
		if s.Admin == config.AdminDrain || s.Health == config.HealthNoLB {
			w = 0
		}
		if s.Backup {
			bck++
			wBck += w
		} else {
			act++
			wAct += w
		}
	}
	weight := wAct
	if act == 0 {
		weight = wBck // HAProxy's total weight falls back to the backups
	}
	r.setS(fStatus, map[bool]string{true: "UP", false: "DOWN"}[weight > 0 || len(b.Servers) == 0])
	r.setN(fWeight, weight)
	r.setN(fAct, act)
	r.setN(fBck, bck)
	r.ids(iid, 0, typeBackend)
	r.setU(fLbtot, c.Requests)
	r.setU(fConnect, uint64(max(c.TotalConns, 0)))
	if b.Mode == config.ModeHTTP {
		r.http(c)
	}
	if b.Cookie != "" {
		r.setS(fCookie, b.Cookie)
	}
	r.setS(fMode, b.Mode.String())
	if legends {
		r.setS(fAlgo, b.Algo.String())
	}
	r.setN(fUweight, weight)
	return r
}

// renderStat answers "show stat".
func renderStat(v *View, c ShowStat, legends bool) string {
	rows := statRows(v, legends)
	if c.Filter != nil {
		iid, ok := proxyIDs(v)[c.Filter.Proxy]
		if !ok {
			iid = atoi(c.Filter.Proxy)
		}
		if iid == 0 {
			return "No such proxy.\n"
		}
		rows = filterRows(rows, iid, c.Filter.Type, c.Filter.SID)
	}
	rows = hideRows(rows, v, c)
	var b strings.Builder
	if c.Typed {
		for i := range rows {
			writeTyped(&b, &rows[i])
		}
		return b.String()
	}
	WriteCSVHeader(&b)
	for i := range rows {
		writeCSVRow(&b, &rows[i])
	}
	return b.String()
}

// filterRows keeps the rows of proxy iid (-1: all) whose type is in the
// mask (-1: all) and, for servers, whose id is sid (-1: all).
func filterRows(rows []row, iid, mask, sid int) []row {
	var out []row
	for _, r := range rows {
		if (iid != -1 && r.iid != iid) || mask&(1<<r.typ) == 0 {
			continue
		}
		if r.typ == typeServer && sid != -1 && r.sid != sid {
			continue
		}
		out = append(out, r)
	}
	return out
}

// hideRows applies "no-maint" (no server in maintenance) and "up" (only
// servers that are up); with either, a backend's status says how many of
// its servers are up.
func hideRows(rows []row, v *View, c ShowStat) []row {
	if !c.NoMaint && !c.Up {
		return rows
	}
	var out []row
	for _, r := range rows {
		status := r.vals[fStatus]
		if r.typ == typeServer && (status == "MAINT" || (c.Up && status == "DOWN")) {
			continue
		}
		if r.typ == typeBackend {
			if b := v.backend(r.vals[fPxname]); b != nil {
				up := 0
				for i := range b.Servers {
					if usable(&b.Servers[i]) {
						up++
					}
				}
				r.vals[fStatus] += fmt.Sprintf(" (%d/%d)", up, len(b.Servers))
			}
		}
		out = append(out, r)
	}
	return out
}

// WriteCSVHeader writes HAProxy 2.6's CSV header line.
func WriteCSVHeader(b *strings.Builder) {
	b.WriteString("# ")
	for _, f := range statFields {
		b.WriteString(f.name)
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}

func writeCSVRow(b *strings.Builder, r *row) {
	for i := range statFields {
		switch {
		case i == numStaticFields:
			b.WriteString("-")
		case i < numStaticFields:
			b.WriteString(csvQuote(r.vals[i]))
		}
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}

// csvQuote quotes a value that holds a comma, a quote or a line break
// (HAProxy's csv_enc_append in automatic mode).
func csvQuote(s string) string {
	if !strings.ContainsAny(s, "\n\r,\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// writeTyped writes a row in the typed form:
// "T.IID.SID.INDEX.NAME.1:TAGS:TYPE:VALUE", empty fields omitted.
func writeTyped(b *strings.Builder, r *row) {
	letter := [...]string{"F", "B", "S"}[r.typ]
	for i, val := range r.vals {
		f := statFields[i]
		tag := [...]string{f.fe, f.be, f.srv}[r.typ]
		if !r.set[i] || tag == "" {
			continue
		}
		tags, typ, _ := strings.Cut(tag, ":")
		fmt.Fprintf(b, "%s.%d.%d.%d.%s.1:%s:%s:%s\n", letter, r.iid, r.sid, i, f.name, tags, typ, val)
	}
}

// RenderCSV is v's "show stat" CSV (the stats page's ";csv"); legends
// adds the addr and algo columns, as HAProxy's "stats show-legends" does.
func RenderCSV(v *View, legends bool) string { return renderStat(v, ShowStat{}, legends) }

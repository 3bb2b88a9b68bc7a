package runtimeapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// infoField is one line of HAProxy 2.6's "show info": its index, name,
// typed-form tags and value type.
type infoField struct {
	idx       int
	name, tag string
	value     func(v *View, t *infoTotals) string
}

// infoTotals are sums the fields share.
type infoTotals struct {
	curConns, cumConns int64
	cumReq             uint64
	bytesOut           uint64
	connRate, reqRate  int
	listeners          int
}

func zero(*View, *infoTotals) string { return "0" }

func num[T int | int64 | uint64](n T) string { return fmt.Sprint(n) }

// infoFields are HAProxy 2.6's fields in its order. tandem fills what it
// has; what it has no counterpart for (SSL, pipes, compression, pools) is
// 0, true of tandem, which uses none of them. HAProxy omits empty fields
// (45, 46 and 51 here).
var infoFields = []infoField{
	{0, "Name", "POS:str", func(*View, *infoTotals) string { return "tandem" }},
	{1, "Version", "POS:str", func(v *View, _ *infoTotals) string { return v.Version }},
	{2, "Release_date", "POS:str", func(v *View, _ *infoTotals) string { return v.ReleaseDate }},
	{3, "Nbthread", "CGS:u32", func(v *View, _ *infoTotals) string { return num(max(v.Threads, 1)) }},
	{4, "Nbproc", "CGS:u32", func(*View, *infoTotals) string { return "1" }},
	{5, "Process_num", "KGP:u32", func(*View, *infoTotals) string { return "1" }},
	{6, "Pid", "SGP:u32", func(v *View, _ *infoTotals) string { return num(v.Pid) }},
	{7, "Uptime", "MDP:str", func(v *View, _ *infoTotals) string { return uptime(v.Now.Sub(v.Started)) }},
	{8, "Uptime_sec", "MDP:u32", func(v *View, _ *infoTotals) string { return num(int64(v.Now.Sub(v.Started) / time.Second)) }},
	{9, "Memmax_MB", "CLP:u32", zero},
	{10, "PoolAlloc_MB", "MGP:u32", zero},
	{11, "PoolUsed_MB", "MGP:u32", zero},
	{12, "PoolFailed", "MCP:u32", zero},
	{13, "Ulimit-n", "CLP:u32", func(v *View, _ *infoTotals) string { return num(v.MaxSock) }},
	{14, "Maxsock", "CLP:u32", func(v *View, _ *infoTotals) string { return num(v.MaxSock) }},
	{15, "Maxconn", "CLP:u32", func(v *View, _ *infoTotals) string { return num(v.MaxConn) }},
	{16, "Hard_maxconn", "CLP:u32", func(v *View, _ *infoTotals) string { return num(v.MaxConn) }},
	{17, "CurrConns", "MGP:u32", func(_ *View, t *infoTotals) string { return num(t.curConns) }},
	{18, "CumConns", "MCP:u32", func(_ *View, t *infoTotals) string { return num(t.cumConns) }},
	{19, "CumReq", "MCP:u32", func(_ *View, t *infoTotals) string { return num(t.cumReq) }},
	{20, "MaxSslConns", "MMP:u32", zero},
	{21, "CurrSslConns", "MGP:u32", zero},
	{22, "CumSslConns", "MCP:u32", zero},
	{23, "Maxpipes", "CLP:u32", zero},
	{24, "PipesUsed", "MGP:u32", zero},
	{25, "PipesFree", "MGP:u32", zero},
	{26, "ConnRate", "MRP:u32", func(_ *View, t *infoTotals) string { return num(t.connRate) }},
	{27, "ConnRateLimit", "CLP:u32", zero},
	{28, "MaxConnRate", "MMP:u32", zero},
	{29, "SessRate", "MRP:u32", func(_ *View, t *infoTotals) string { return num(t.connRate) }},
	{30, "SessRateLimit", "CLP:u32", zero},
	{31, "MaxSessRate", "MRP:u32", zero},
	{32, "SslRate", "MRP:u32", zero},
	{33, "SslRateLimit", "CLP:u32", zero},
	{34, "MaxSslRate", "MMP:u32", zero},
	{35, "SslFrontendKeyRate", "MGP:u32", zero},
	{36, "SslFrontendMaxKeyRate", "MMP:u32", zero},
	{37, "SslFrontendSessionReuse_pct", "MGP:u32", zero},
	{38, "SslBackendKeyRate", "MRP:u32", zero},
	{39, "SslBackendMaxKeyRate", "MMP:u32", zero},
	{40, "SslCacheLookups", "MCP:u32", zero},
	{41, "SslCacheMisses", "MCP:u32", zero},
	{42, "CompressBpsIn", "MRP:u32", zero},
	{43, "CompressBpsOut", "MRP:u32", zero},
	{44, "CompressBpsRateLim", "CLP:u32", zero},
	{47, "Tasks", "MGP:u32", func(v *View, _ *infoTotals) string { return num(v.Tasks) }},
	{48, "Run_queue", "MGP:u32", zero},
	{49, "Idle_pct", "MaP:u32", func(*View, *infoTotals) string { return "100" }},
	{50, "node", "COS:str", func(v *View, _ *infoTotals) string { return v.Node }},
	{52, "Stopping", "MGP:u32", zero},
	{53, "Jobs", "MGP:u32", func(_ *View, t *infoTotals) string { return num(t.curConns + int64(t.listeners)) }},
	{54, "Unstoppable Jobs", "MGP:u32", zero},
	{55, "Listeners", "MGP:u32", func(_ *View, t *infoTotals) string { return num(t.listeners) }},
	{56, "ActivePeers", "MGP:u32", zero},
	{57, "ConnectedPeers", "MGP:u32", zero},
	{58, "DroppedLogs", "MGP:u32", zero},
	{59, "BusyPolling", "MGP:u32", zero},
	{60, "FailedResolutions", "MGP:u32", zero},
	{61, "TotalBytesOut", "MGP:u64", func(_ *View, t *infoTotals) string { return num(t.bytesOut) }},
	{62, "TotalSplicdedBytesOut", "MGP:u64", zero},
	{63, "BytesOutRate", "MRP:u64", zero},
	{64, "DebugCommandsIssued", "MGP:u32", zero},
	{65, "CumRecvLogs", "MCP:u32", zero},
	{66, "Build info", "POS:str", func(v *View, _ *infoTotals) string { return v.Version }},
	{67, "Memmax_bytes", "CLP:u32", zero},
	{68, "PoolAlloc_bytes", "MGP:u64", zero},
	{69, "PoolUsed_bytes", "MGP:u64", zero},
	{70, "Start_time_sec", "MDP:u32", func(v *View, _ *infoTotals) string { return num(v.Started.Unix()) }},
	{71, "Tainted", "SGP:str", func(*View, *infoTotals) string { return "0" }},
}

// uptime is HAProxy's "0d 0h01m23s".
func uptime(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
}

// renderInfo answers "show info": "Name: value" lines, or in the typed
// form "IDX.Name.1:TAGS:TYPE:value". Empty values are omitted, as HAProxy
// omits them.
func renderInfo(v *View, typed bool) string {
	var t infoTotals
	for _, f := range v.Frontends {
		t.curConns += f.Counters.CurConns
		t.cumConns += f.Counters.TotalConns
		t.cumReq += f.Counters.Requests
		t.bytesOut += f.Counters.BytesOut
		t.connRate += max(f.ConnRate, 0)
		t.reqRate += max(f.ReqRate, 0)
		if f.Ready {
			t.listeners++
		}
	}
	var b strings.Builder
	for _, f := range infoFields {
		val := f.value(v, &t)
		if val == "" {
			continue
		}
		if typed {
			tags, typ, _ := strings.Cut(f.tag, ":")
			b.WriteString(strconv.Itoa(f.idx) + "." + f.name + ".1:" + tags + ":" + typ + ":" + val + "\n")
			continue
		}
		b.WriteString(f.name + ": " + val + "\n")
	}
	return b.String()
}

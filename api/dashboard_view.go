package api

import (
	"fmt"
	"html/template"
	"sort"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// maxTransitions bounds the failover list shown per VIP.
const maxTransitions = 8

// view is what panels.html renders.
type view struct {
	Status
	Now       time.Time
	Window    string // the tables' rate window, e.g. "10s"; "" before any slot
	PerNode   bool
	Missing   []missingNode
	Deploying []DeployRecord
	Expiring  []CertificateStatus // within ExpiryWarning, or expired
	ACMEFail  []ACMEStatus        // names whose last ACME order or renewal failed
	VIPs      []vipView
	Frontends []feView
	Backends  []beView
}

type missingNode struct{ Node, Why string }

type vipView struct {
	VIPStatus
	Timeline  []VIPTransition // this node's state changes, newest first
	Bar       template.HTML   // who held it, last 15 minutes
	Legend    []holderColor
	Failovers int
}

// traffic is an object's rates over the window and its charts.
type traffic struct {
	ReqRate, ErrRate, P50, P99 string
	Charts                     template.HTML
}

// nodeRow is one node's figures for an object (per-node view).
type nodeRow struct {
	Node     string
	Conns    int64
	Requests uint64
	traffic
}

type feView struct {
	FrontendStatus
	Conns    int64
	Total    uint64
	Requests uint64
	traffic
	Nodes []nodeRow
}

type beView struct {
	Name      string
	Up, Total int
	traffic
	Servers []srvView
}

type srvView struct {
	ServerStatus
	Views    []nodeHealth
	Conns    int64
	Queue    int64
	Total    uint64
	Requests uint64
	traffic
	Nodes []nodeRow
}

type nodeHealth struct {
	Node   string
	Health config.Health
}

// buildView joins the status (with the cluster's traffic added) and the
// nodes' histories.
func buildView(st Status, cc ClusterCounters, now time.Time, perNode bool) view {
	v := view{Status: st, Now: now, PerNode: perNode}
	var all []Series
	nodeSeries := map[string]Series{}
	for _, n := range cc.Nodes {
		if n.Series != nil {
			all = append(all, *n.Series)
			nodeSeries[n.Node] = *n.Series
		}
	}
	merged := MergeSeries(all)
	if w := lastSlots(merged, ObjectData{Req: make([]uint32, HistorySlots)}, rateSlots); w.secs > 0 {
		v.Window = (time.Duration(w.secs) * time.Second).String()
	}
	for n, why := range cc.Missing {
		v.Missing = append(v.Missing, missingNode{n, why})
	}
	sort.Slice(v.Missing, func(i, j int) bool { return v.Missing[i].Node < v.Missing[j].Node })
	for _, b := range sortedDeploys(st.Deploys) {
		if !b.Done {
			v.Deploying = append(v.Deploying, b)
		}
	}
	for _, c := range st.Certificates {
		if c.NotAfter.Sub(now) < ExpiryWarning {
			v.Expiring = append(v.Expiring, c)
		}
	}
	for _, a := range st.ACME {
		if a.Error != "" {
			v.ACMEFail = append(v.ACMEFail, a)
		}
	}
	for _, vs := range st.VIPs {
		vv := vipView{VIPStatus: vs}
		for i := len(vs.Transitions) - 1; i >= 0 && len(vv.Timeline) < maxTransitions; i-- {
			vv.Timeline = append(vv.Timeline, vs.Transitions[i])
		}
		vv.Bar, vv.Legend, vv.Failovers = vipTimeline(merged.VIPs[vs.Name])
		v.VIPs = append(v.VIPs, vv)
	}
	objTraffic := func(s Series, key string, p99 bool) traffic {
		d := s.Objects[key]
		var t traffic
		t.ReqRate, t.ErrRate, t.P50, t.P99 = lastSlots(s, d, rateSlots).rates()
		t.Charts = charts(s, d, p99)
		return t
	}
	perNodeRows := func(key string, by map[string]Traffic, p99 bool) []nodeRow {
		var rows []nodeRow
		for _, n := range cc.Nodes {
			tr, ok := by[n.Node]
			if !ok {
				continue
			}
			row := nodeRow{Node: n.Node, Conns: tr.CurConns, Requests: tr.Requests}
			if s, ok := nodeSeries[n.Node]; ok {
				row.traffic = objTraffic(s, key, p99)
			}
			rows = append(rows, row)
		}
		return rows
	}
	for _, f := range st.Frontends {
		fv := feView{FrontendStatus: f, Conns: f.CurConns, Total: f.TotalConns, Requests: f.Requests}
		if f.Cluster != nil {
			fv.Conns, fv.Total, fv.Requests = f.Cluster.CurConns, f.Cluster.TotalConns, f.Cluster.Requests
		}
		fv.traffic = objTraffic(merged, "f/"+f.Name, false)
		if perNode {
			fv.Nodes = perNodeRows("f/"+f.Name, f.ByNode, false)
		}
		v.Frontends = append(v.Frontends, fv)
	}
	idx := map[string]int{}
	for _, s := range st.Servers {
		i, ok := idx[s.Backend]
		if !ok {
			i = len(v.Backends)
			idx[s.Backend] = i
			v.Backends = append(v.Backends, beView{Name: s.Backend, traffic: objTraffic(merged, "b/"+s.Backend, true)})
		}
		b := &v.Backends[i]
		b.Total++
		if s.Routed {
			b.Up++
		}
		sv := srvView{ServerStatus: s, Conns: s.CurConns, Queue: s.QueueLen, Total: s.TotalConns, Requests: s.Requests}
		if s.Cluster != nil {
			sv.Conns, sv.Queue, sv.Total, sv.Requests = s.Cluster.CurConns, s.Cluster.QueueLen, s.Cluster.TotalConns, s.Cluster.Requests
		}
		k := "s/" + config.ServerKey{Backend: s.Backend, Server: s.Server}.String()
		sv.traffic = objTraffic(merged, k, true)
		if perNode {
			sv.Nodes = perNodeRows(k, s.ByNode, true)
		}
		names := make([]string, 0, len(s.Views))
		for n := range s.Views {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			sv.Views = append(sv.Views, nodeHealth{n, s.Views[n]})
		}
		b.Servers = append(b.Servers, sv)
	}
	return v
}

func sortedDeploys(m map[string]DeployRecord) []DeployRecord {
	out := make([]DeployRecord, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Backend < out[j].Backend })
	return out
}

// fmtDuration is short and keeps about two significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// healthClass and adminClass are CSS classes of states.
func healthClass(h config.Health) string {
	switch h {
	case config.HealthUp:
		return "ok"
	case config.HealthDown:
		return "bad"
	case config.HealthNoLB:
		return "warn"
	}
	return "idle"
}

func adminClass(a config.AdminState) string {
	switch a {
	case config.AdminReady:
		return "ok"
	case config.AdminDrain:
		return "warn"
	}
	return "idle"
}

var viewFuncs = template.FuncMap{
	"healthClass": healthClass,
	"adminClass":  adminClass,
	"dur":         fmtDuration,
	"clock":       func(t time.Time) string { return t.Local().Format("15:04:05") },
	"ago": func(now, t time.Time) string {
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
	"expiry":  expiry,
	"admins":  func() []string { return []string{"ready", "drain", "maint"} },
	"isAdmin": func(a config.AdminState, s string) bool { return a.String() == s },
}

// expiry says when a certificate expires, relative to now, in days and
// hours: "expires 2027-01-15 (in 13d 4h)", "expired 2026-11-30 (1d 2h ago)".
func expiry(now, notAfter time.Time) string {
	d := notAfter.Sub(now)
	verb, rel := "expires", "in %s"
	if d < 0 {
		verb, rel, d = "expired", "%s ago", -d
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	return fmt.Sprintf("%s %s (%s)", verb, notAfter.UTC().Format("2006-01-02 15:04 UTC"), fmt.Sprintf(rel, fmt.Sprintf("%dd %dh", days, hours)))
}

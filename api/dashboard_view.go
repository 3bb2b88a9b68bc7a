package api

import (
	"fmt"
	"html/template"
	"sort"
	"time"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// maxTransitions bounds the failover timeline shown per VIP.
const maxTransitions = 8

// view is what panels.html renders.
type view struct {
	Status
	Now       time.Time
	Window    string // e.g. "10s"; "" before the second render
	Deploying []DeployRecord
	VIPs      []vipView
	Frontends []feView
	Backends  []beView
}

type vipView struct {
	VIPStatus
	Timeline []VIPTransition // newest first
}

type feView struct {
	FrontendStatus
	ReqRate string
}

type beView struct {
	Name             string
	Up, Total        int
	ReqRate, ErrRate string
	Servers          []srvView
}

type srvView struct {
	ServerStatus
	Views            []nodeHealth
	ReqRate, ErrRate string
	P50, P99         string
}

type nodeHealth struct {
	Node   string
	Health config.Health
}

// buildView joins the status with the counters and the rates since base
// (nil: no rates yet).
func buildView(st Status, stats balancer.Stats, cur sample, base *sample) view {
	v := view{Status: st, Now: cur.at}
	var dt float64
	if base != nil {
		d := cur.at.Sub(base.at)
		dt = d.Seconds()
		v.Window = d.Round(time.Second).String()
	}
	rate := func(now, then uint64) string {
		if base == nil || now < then {
			return "–"
		}
		return fmt.Sprintf("%.1f", float64(now-then)/dt)
	}
	for _, b := range sortedDeploys(st.Deploys) {
		if !b.Done {
			v.Deploying = append(v.Deploying, b)
		}
	}
	for _, vs := range st.VIPs {
		vv := vipView{VIPStatus: vs}
		for i := len(vs.Transitions) - 1; i >= 0 && len(vv.Timeline) < maxTransitions; i-- {
			vv.Timeline = append(vv.Timeline, vs.Transitions[i])
		}
		v.VIPs = append(v.VIPs, vv)
	}
	for _, f := range st.Frontends {
		fv := feView{FrontendStatus: f, ReqRate: "–"}
		if base != nil {
			fv.ReqRate = rate(cur.fe[f.Name], base.fe[f.Name])
		}
		v.Frontends = append(v.Frontends, fv)
	}
	up := map[string]int{}
	for _, b := range stats.Backends {
		up[b.Name] = b.ServersUp
	}
	idx := map[string]int{}
	for _, s := range st.Servers {
		i, ok := idx[s.Backend]
		if !ok {
			i = len(v.Backends)
			idx[s.Backend] = i
			v.Backends = append(v.Backends, beView{Name: s.Backend, Up: up[s.Backend]})
		}
		v.Backends[i].Total++
		v.Backends[i].Servers = append(v.Backends[i].Servers, serverView(s, cur, base, rate))
	}
	for i := range v.Backends {
		v.Backends[i].ReqRate, v.Backends[i].ErrRate = backendRates(&v.Backends[i], cur, base, dt)
	}
	return v
}

func serverView(s ServerStatus, cur sample, base *sample, rate func(uint64, uint64) string) srvView {
	key := config.ServerKey{Backend: s.Backend, Server: s.Server}
	sv := srvView{ServerStatus: s, ReqRate: "–", ErrRate: "–", P50: "–", P99: "–"}
	names := make([]string, 0, len(s.Views))
	for n := range s.Views {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sv.Views = append(sv.Views, nodeHealth{n, s.Views[n]})
	}
	now := cur.srv[key]
	rt := now.rt
	if base != nil {
		then := base.srv[key]
		sv.ReqRate, sv.ErrRate = rate(now.requests, then.requests), rate(now.errors, then.errors)
		if then.rt.Count() <= now.rt.Count() {
			rt = now.rt.Sub(then.rt)
		}
	}
	if rt.Count() > 0 {
		sv.P50, sv.P99 = fmtDuration(rt.Quantile(0.5)), fmtDuration(rt.Quantile(0.99))
	}
	return sv
}

func backendRates(b *beView, cur sample, base *sample, dt float64) (req, errs string) {
	if base == nil {
		return "–", "–"
	}
	var r, e float64
	for _, s := range b.Servers {
		key := config.ServerKey{Backend: s.Backend, Server: s.Server}
		now, then := cur.srv[key], base.srv[key]
		if now.requests >= then.requests {
			r += float64(now.requests - then.requests)
		}
		if now.errors >= then.errors {
			e += float64(now.errors - then.errors)
		}
	}
	return fmt.Sprintf("%.1f", r/dt), fmt.Sprintf("%.1f", e/dt)
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
	"admins":  func() []string { return []string{"ready", "drain", "maint"} },
	"isAdmin": func(a config.AdminState, s string) bool { return a.String() == s },
}

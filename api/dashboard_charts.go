package api

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/balancer"
)

// rateSlots is how many of the newest slots the tables' rates and
// percentiles cover (2 × 5 s).
const rateSlots = 2

// window is an object's traffic over the newest slots of a series.
type window struct {
	req, errs uint64
	rt        balancer.Histogram
	secs      float64 // 0: no slot with data yet
}

// lastSlots sums d's newest n slots that hold data (not before since).
func lastSlots(s Series, d ObjectData, n int) window {
	var w window
	for j := len(d.Req) - 1; j >= 0 && j >= len(d.Req)-n; j-- {
		if slot := s.Last - int64(len(d.Req)-1-j); s.Since == 0 || slot < s.Since {
			break
		}
		w.req += uint64(d.Req[j])
		if j < len(d.Errs) {
			w.errs += uint64(d.Errs[j])
		}
		w.rt = w.rt.Add(histogramOf(d.RT, j))
		w.secs += float64(s.Step)
	}
	return w
}

func histogramOf(rt [][]uint32, j int) balancer.Histogram {
	var h balancer.Histogram
	if j < len(rt) {
		for b, n := range rt[j] {
			if b < len(h.Counts) {
				h.Counts[b] = uint64(n)
			}
		}
	}
	return h
}

// rates formats a window's req/s, err/s, p50 and p99 ("–" when unknown).
func (w window) rates() (req, errs, p50, p99 string) {
	req, errs, p50, p99 = "–", "–", "–", "–"
	if w.secs > 0 {
		req = fmt.Sprintf("%.1f", float64(w.req)/w.secs)
		errs = fmt.Sprintf("%.1f", float64(w.errs)/w.secs)
	}
	if w.rt.Count() > 0 {
		p50, p99 = fmtDuration(w.rt.Quantile(0.5)), fmtDuration(w.rt.Quantile(0.99))
	}
	return req, errs, p50, p99
}

// charts draws an object's last 15 minutes: requests and errors per
// second and p99, as three small inline SVG line charts.
func charts(s Series, d ObjectData, withP99 bool) template.HTML {
	if len(d.Req) == 0 {
		return ""
	}
	step := float64(s.Step)
	req := make([]float64, len(d.Req))
	errs := make([]float64, len(d.Req))
	p99 := make([]float64, len(d.Req))
	for j := range d.Req {
		req[j] = float64(d.Req[j]) / step
		if j < len(d.Errs) {
			errs[j] = float64(d.Errs[j]) / step
		}
		if h := histogramOf(d.RT, j); h.Count() > 0 {
			p99[j] = h.Quantile(0.99).Seconds()
		}
	}
	var b strings.Builder
	b.WriteString(`<span class="charts">`)
	b.WriteString(spark(req, "req", "req/s", func(v float64) string { return fmt.Sprintf("%.1f", v) }))
	b.WriteString(spark(errs, "err", "errors/s", func(v float64) string { return fmt.Sprintf("%.1f", v) }))
	if withP99 {
		b.WriteString(spark(p99, "p99", "p99", func(v float64) string { return fmtDuration(time.Duration(v * float64(time.Second))) }))
	}
	b.WriteString(`</span>`)
	return template.HTML(b.String()) // numbers and fixed markup only
}

// Chart geometry: one point per slot.
const (
	chartW = HistorySlots
	chartH = 24
)

// spark is one line chart scaled to its maximum, with the maximum and
// the latest value in its title.
func spark(vals []float64, class, what string, format func(float64) string) string {
	peak := 0.0
	for _, v := range vals {
		peak = max(peak, v)
	}
	ys := make([]int, len(vals))
	for i, v := range vals {
		ys[i] = chartH - 1
		if peak > 0 {
			ys[i] = chartH - 1 - int(v/peak*float64(chartH-2)+0.5)
		}
	}
	// Only the corners: a point whose neighbours are at its height adds
	// nothing to the line (idle minutes cost no bytes).
	var pts strings.Builder
	for i, y := range ys {
		if i > 0 && i < len(ys)-1 && ys[i-1] == y && ys[i+1] == y {
			continue
		}
		if pts.Len() > 0 {
			pts.WriteByte(' ')
		}
		fmt.Fprintf(&pts, "%d,%d", i, y)
	}
	last := 0.0
	if len(vals) > 0 {
		last = vals[len(vals)-1]
	}
	return fmt.Sprintf(`<svg class="spark %s" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" data-max="%s"><title>%s, last 15 min: now %s, max %s</title><polyline points="%s"/></svg>`,
		class, chartW, chartH, format(peak), what, format(last), format(peak), pts.String())
}

// holderColors are the timeline's colours, one per node in name order.
var holderColors = []string{"#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e"}

// vipTimeline draws who held a VIP in each slot of the last 15 minutes:
// one coloured band per holder, "nobody" blank, a mark at each change of
// holder (a failover). It returns the chart, the legend and how many
// failovers it shows.
func vipTimeline(holders []string) (template.HTML, []holderColor, int) {
	if len(holders) == 0 {
		return "", nil, 0
	}
	color := map[string]string{}
	var legend []holderColor
	for _, h := range sortedUnique(holders) {
		c := holderColors[len(legend)%len(holderColors)]
		color[h] = c
		legend = append(legend, holderColor{h, c})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="tlbar" viewBox="0 0 %d 12" preserveAspectRatio="none" role="img"><title>VIP holder, last 15 min</title>`, len(holders))
	failovers := 0
	for i := 0; i < len(holders); {
		j := i
		for j < len(holders) && holders[j] == holders[i] {
			j++
		}
		if holders[i] != "" {
			fmt.Fprintf(&b, `<rect x="%d" y="2" width="%d" height="8" fill="%s"><title>%s</title></rect>`, i, j-i, color[holders[i]], template.HTMLEscapeString(holders[i]))
		}
		if i > 0 && holders[i] != "" && holders[i-1] != "" {
			failovers++
			fmt.Fprintf(&b, `<rect class="failover" x="%d" y="0" width="1" height="12"/>`, i)
		}
		i = j
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), legend, failovers
}

type holderColor struct{ Node, Color string }

func sortedUnique(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

package api

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

//go:embed dashboard/index.html dashboard/style.css dashboard/app.js dashboard/panels.html
var dashboardFS embed.FS

// Dashboard is the cluster status page at the admin address: one static
// page (HTML, CSS and JS embedded in the binary) that fetches the panels,
// rendered here from this node's status and counters, every 2 s. The
// panels need the API token when one is set; the page sends it from
// sessionStorage in the Authorization header (no cookie, so no CSRF).
//
// Rates and response-time percentiles are over a sliding window of about
// 10 s, computed from the counters seen by earlier renders.
type Dashboard struct {
	status StatusSource
	stats  StatsSource
	now    func() time.Time
	page   []byte
	tmpl   *template.Template

	mu      sync.Mutex
	samples []sample // oldest first, at least sampleEvery apart
}

// Window bounds of the rates and percentiles.
const (
	rateWindow  = 10 * time.Second
	minWindow   = 500 * time.Millisecond
	sampleEvery = time.Second
	keepSamples = 30 * time.Second
)

// sample is the counters at one moment.
type sample struct {
	at  time.Time
	fe  map[string]uint64 // frontend → requests
	srv map[config.ServerKey]srvSample
}

type srvSample struct {
	requests, errors uint64
	rt               balancer.Histogram
}

// NewDashboard builds the page; it serves nothing until Register.
func NewDashboard(status StatusSource, stats StatsSource) (*Dashboard, error) {
	d := &Dashboard{status: status, stats: stats, now: time.Now}
	page, err := dashboardFS.ReadFile("dashboard/index.html")
	if err != nil {
		return nil, fmt.Errorf("read dashboard page: %w", err)
	}
	css, _ := dashboardFS.ReadFile("dashboard/style.css")
	js, _ := dashboardFS.ReadFile("dashboard/app.js")
	page = bytes.Replace(page, []byte("/*STYLE*/"), css, 1)
	d.page = bytes.Replace(page, []byte("/*SCRIPT*/"), js, 1)
	d.tmpl, err = template.New("panels.html").Funcs(viewFuncs).ParseFS(dashboardFS, "dashboard/panels.html")
	if err != nil {
		return nil, fmt.Errorf("parse dashboard template: %w", err)
	}
	return d, nil
}

// Register adds the dashboard's routes to s: GET / (the page, no token:
// it holds no data) and GET /dashboard/panels (token when set).
func (d *Dashboard) Register(s *Server) {
	s.Handle("GET /{$}", http.HandlerFunc(d.servePage), false)
	s.Handle("GET /dashboard/panels", http.HandlerFunc(d.servePanels), true)
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // the buttons must not be clickjacked
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (d *Dashboard) servePage(w http.ResponseWriter, _ *http.Request) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(d.page)
}

func (d *Dashboard) servePanels(w http.ResponseWriter, _ *http.Request) {
	securityHeaders(w)
	var buf bytes.Buffer
	if err := d.Render(&buf); err != nil {
		http.Error(w, "render dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// Render writes the panels (an HTML fragment) for the current status.
func (d *Dashboard) Render(w *bytes.Buffer) error {
	st := d.status.Status()
	stats := d.stats.Stats()
	cur := takeSample(d.now(), stats)
	base := d.window(cur)
	return d.tmpl.Execute(w, buildView(st, stats, cur, base))
}

func takeSample(now time.Time, stats balancer.Stats) sample {
	s := sample{at: now, fe: map[string]uint64{}, srv: map[config.ServerKey]srvSample{}}
	for _, f := range stats.Frontends {
		s.fe[f.Name] = f.Requests
	}
	for _, v := range stats.Servers {
		s.srv[v.Key] = srvSample{
			requests: v.Requests,
			errors:   v.ConnectErrors + v.ResponseErrors + v.Responses[4],
			rt:       v.ResponseTime,
		}
	}
	return s
}

// window records cur and returns the sample to compute rates against: the
// oldest one within rateWindow that is at least minWindow old (nil: none).
func (d *Dashboard) window(cur sample) *sample {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := 0
	for i < len(d.samples) && cur.at.Sub(d.samples[i].at) > keepSamples {
		i++
	}
	d.samples = d.samples[i:]
	var base *sample
	for j := range d.samples {
		age := cur.at.Sub(d.samples[j].at)
		if age <= rateWindow && age >= minWindow {
			b := d.samples[j]
			base = &b
			break
		}
	}
	if n := len(d.samples); n == 0 || cur.at.Sub(d.samples[n-1].at) >= sampleEvery {
		d.samples = append(d.samples, cur)
	}
	return base
}

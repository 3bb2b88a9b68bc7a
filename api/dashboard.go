package api

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

//go:embed dashboard/index.html dashboard/style.css dashboard/app.js dashboard/panels.html
var dashboardFS embed.FS

// ClusterSource gathers the cluster's counters and histories (*Counters).
type ClusterSource interface {
	Gather(ctx context.Context, series bool) ClusterCounters
}

// Dashboard is the cluster status page at the admin address: one static
// page (HTML, CSS and JS embedded in the binary, no framework) that
// fetches the panels, rendered here, every 2 s. The panels need the API
// token when one is set; the page sends it from sessionStorage in the
// Authorization header (no cookie, so no CSRF).
//
// Counters are the cluster's: every LB node's summed (each node's on
// demand, ?nodes=1), rates and percentiles over the last 10 s, and inline
// charts of the last 15 minutes, all from the nodes' in-memory histories
// (History).
type Dashboard struct {
	status  StatusSource
	cluster ClusterSource
	now     func() time.Time
	page    []byte
	tmpl    *template.Template
}

// NewDashboard builds the page; it serves nothing until Register.
func NewDashboard(status StatusSource, cluster ClusterSource) (*Dashboard, error) {
	d := &Dashboard{status: status, cluster: cluster, now: time.Now}
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

func (d *Dashboard) servePanels(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	var buf bytes.Buffer
	if err := d.Render(r.Context(), &buf, r.URL.Query().Get("nodes") == "1"); err != nil {
		http.Error(w, "render dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// Render writes the panels (an HTML fragment): the cluster's counters, and
// each node's with perNode.
func (d *Dashboard) Render(ctx context.Context, w *bytes.Buffer, perNode bool) error {
	st := d.status.Status()
	cc := d.cluster.Gather(ctx, true)
	AddTraffic(&st, cc, perNode)
	return d.tmpl.Execute(w, buildView(st, cc, d.now(), perNode))
}

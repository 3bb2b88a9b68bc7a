package api

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// StatsPage is HAProxy's stats page on the admin API: at its URI the
// dashboard, and at URI;csv the CSV of "show stat", which
// prometheus-haproxy-exporter and other scrapers read over HTTP.
type StatsPage interface {
	// StatsURI is the page's URI as HAProxy's "stats uri" gives it
	// ("/haproxy?stats"); "" serves no page.
	StatsURI() string
	// CSV is the "show stat" CSV of the cluster.
	CSV(ctx context.Context) (string, error)
}

// UseStatsPage serves p's URI beside the API's routes.
func (s *Server) UseStatsPage(p StatsPage) { s.statsPage = p }

// ServeHTTP answers the stats page's URI, and every other request through
// the API's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.statsPage != nil {
		// A page at "/" is the dashboard itself (no redirect to itself).
		if csv, ok := matchStatsURI(r.RequestURI, s.statsPage.StatsURI()); ok && r.Method == http.MethodGet && (csv || r.URL.Path != "/") {
			s.serveStatsPage(w, r, csv)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// matchStatsURI reports whether target (the request line's) is the stats
// URI, optionally followed by HAProxy's ";"-separated options, and
// whether ";csv" is among them.
func matchStatsURI(target, uri string) (csv, ok bool) {
	if uri == "" || !strings.HasPrefix(target, uri) {
		return false, false
	}
	rest := target[len(uri):]
	if rest != "" && rest[0] != ';' {
		return false, false
	}
	for _, opt := range strings.Split(rest, ";") {
		if opt == "csv" {
			csv = true
		}
	}
	return csv, true
}

func (s *Server) serveStatsPage(w http.ResponseWriter, r *http.Request, csv bool) {
	if !s.statsAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="tandem stats"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API token: send it as a bearer token, or as the password of basic auth")
		return
	}
	if !csv {
		http.Redirect(w, r, "/", http.StatusFound) // the dashboard
		return
	}
	body, err := s.statsPage.CSV(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(body))
}

// statsAuthorized accepts the API token as a bearer token or as the
// password of basic auth (any user name), since HAProxy's scrapers speak
// basic auth ("stats auth").
func (s *Server) statsAuthorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	got, bearer := strings.CutPrefix(h, "Bearer ")
	if !bearer {
		b, basic := strings.CutPrefix(h, "Basic ")
		if !basic {
			return false
		}
		dec, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return false
		}
		_, got, _ = strings.Cut(string(dec), ":")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Node is what the API needs from the agent.
type Node interface {
	Status() Status
	Ready() bool
	Config() ConfigResponse
	ApplyConfig(ctx context.Context, req ApplyRequest) (ApplyResponse, error)
	SetServer(ctx context.Context, key config.ServerKey, req ServerRequest) error

	ConfigVersion(v uint64) (ConfigResponse, error)
	History() []HistoryEntry
	Rollback(ctx context.Context, req RollbackRequest) (ApplyResponse, error)
	Join(ctx context.Context, addrs []string) error
	Leave(ctx context.Context) error
	Remove(ctx context.Context, node string) error
	Recover(ctx context.Context, req RecoverRequest) (RecoveryPlan, error)

	Deploys() map[string]DeployRecord
	RecordDeploy(ctx context.Context, rec DeployRecord) error

	VIPs() []VIPStatus
	ReleaseVIP(ctx context.Context, name string) error
	ReclaimVIP(name string) error
}

// Error kinds the Node returns, mapped to HTTP statuses.
var (
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrNoQuorum   = errors.New("no quorum")
	ErrBadRequest = errors.New("bad request")
)

// ServerConfig configures the admin API listener.
type ServerConfig struct {
	// Addr is the listen address (default 127.0.0.1:8404).
	Addr string
	// Token is required in "Authorization: Bearer TOKEN" on every call but
	// /healthz. It must be set when Addr is not a loopback address.
	Token string
}

// Server serves the admin API.
type Server struct {
	cfg    ServerConfig
	node   Node
	logger *slog.Logger
	mux    *http.ServeMux
	// listening is closed once Run has bound the listener.
	listening chan struct{}
	// counters, when set, adds the cluster's traffic to the status.
	counters *Counters
	// statsPage, when set, serves HAProxy's stats page and CSV.
	statsPage StatsPage
}

// NewServer checks cfg and builds the routes; it binds nothing.
func NewServer(cfg ServerConfig, node Node, logger *slog.Logger) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8404"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("api address %q: want host:port: %w", cfg.Addr, err)
	}
	if cfg.Token == "" && !isLoopback(host) {
		return nil, fmt.Errorf("api address %s is reachable beyond loopback: set api_token (TANDEM_API_TOKEN) or listen on 127.0.0.1", cfg.Addr)
	}
	s := &Server{cfg: cfg, node: node, logger: logger.With("component", "api"), mux: http.NewServeMux(), listening: make(chan struct{})}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /api/v1/status", s.auth(s.status))
	s.mux.Handle("GET /api/v1/config", s.auth(s.getConfig))
	s.mux.Handle("POST /api/v1/config", s.auth(s.applyConfig))
	s.mux.Handle("POST /api/v1/servers/{backend}/{server}", s.auth(s.setServer))
	s.mux.Handle("GET /api/v1/config/history", s.auth(s.history))
	s.mux.Handle("POST /api/v1/config/rollback", s.auth(s.rollback))
	s.mux.Handle("POST /api/v1/cluster/join", s.auth(s.join))
	s.mux.Handle("POST /api/v1/cluster/leave", s.auth(s.leave))
	s.mux.Handle("POST /api/v1/cluster/remove", s.auth(s.remove))
	s.mux.Handle("POST /api/v1/cluster/recover", s.auth(s.recover))
	s.mux.Handle("GET /api/v1/vips", s.auth(s.vips))
	s.mux.Handle("POST /api/v1/vips/{name}/release", s.auth(s.releaseVIP))
	s.mux.Handle("POST /api/v1/vips/{name}/reclaim", s.auth(s.reclaimVIP))
	s.mux.Handle("GET /api/v1/deploys", s.auth(s.deploys))
	s.mux.Handle("POST /api/v1/deploys/{backend}", s.auth(s.recordDeploy))
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handle adds a route (the dashboard and metrics add theirs).
func (s *Server) Handle(pattern string, h http.Handler, needToken bool) {
	if needToken {
		h = s.auth(h.ServeHTTP)
	}
	s.mux.Handle(pattern, h)
}

// Listening is closed once Run has bound the listener: from then on the
// API accepts connections (systemd's READY waits for it).
func (s *Server) Listening() <-chan struct{} { return s.listening }

// Run listens and serves until ctx is done, then shuts down (bounded).
// It is called once.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen api on %s: %w", s.cfg.Addr, err)
	}
	close(s.listening)
	// HAProxy's stats URIs carry ';' options ("/haproxy?stats;csv"):
	// AllowQuerySemicolons keeps net/http from logging each one.
	srv := &http.Server{Handler: http.AllowQuerySemicolons(s), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.logger.Info("admin api listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve api: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	<-errc
	return nil
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token != "" {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
				writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API token: pass --token or set TANDEM_TOKEN")
				return
			}
		}
		h(w, r)
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if !s.node.Ready() {
		http.Error(w, "not ready: listeners not bound\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("version")
	if q == "" {
		writeJSON(w, http.StatusOK, s.node.Config())
		return
	}
	v, err := strconv.ParseUint(q, 10, 64)
	if err != nil || v == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("version %q: want a positive number", q))
		return
	}
	resp, err := s.node.ConfigVersion(v)
	if err != nil {
		s.writeNodeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) history(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.node.History())
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	var req RollbackRequest
	if !decodeBody(w, r, &req) {
		return
	}
	resp, err := s.node.Rollback(r.Context(), req)
	if err != nil {
		s.writeNodeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Addrs) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: want \"addrs\": gossip addresses of a member")
		return
	}
	s.result(w, s.node.Join(r.Context(), req.Addrs))
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	s.result(w, s.node.Leave(r.Context()))
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	var req RemoveRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.result(w, s.node.Remove(r.Context(), req.Node))
}

func (s *Server) recover(w http.ResponseWriter, r *http.Request) {
	var req RecoverRequest
	if !decodeBody(w, r, &req) {
		return
	}
	plan, err := s.node.Recover(r.Context(), req)
	if err != nil {
		s.result(w, err)
		return
	}
	writeJSON(w, http.StatusOK, plan)
}

func (s *Server) vips(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.node.VIPs())
}

func (s *Server) releaseVIP(w http.ResponseWriter, r *http.Request) {
	s.result(w, s.node.ReleaseVIP(r.Context(), vipName(r)))
}

func (s *Server) reclaimVIP(w http.ResponseWriter, r *http.Request) {
	s.result(w, s.node.ReclaimVIP(vipName(r)))
}

// vipName maps the path's "all" to every VIP.
func vipName(r *http.Request) string {
	if n := r.PathValue("name"); n != "all" {
		return n
	}
	return ""
}

func (s *Server) deploys(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.node.Deploys())
}

func (s *Server) recordDeploy(w http.ResponseWriter, r *http.Request) {
	var rec DeployRecord
	if !decodeBody(w, r, &rec) {
		return
	}
	rec.Backend = r.PathValue("backend")
	if rec.ID == "" || rec.Step == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: want \"id\" and \"step\"")
		return
	}
	s.result(w, s.node.RecordDeploy(r.Context(), rec))
}

func (s *Server) result(w http.ResponseWriter, err error) {
	if err != nil {
		s.writeNodeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Server) applyConfig(w http.ResponseWriter, r *http.Request) {
	var req ApplyRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Config == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: missing \"config\"")
		return
	}
	resp, err := s.node.ApplyConfig(r.Context(), req)
	if err != nil {
		s.writeNodeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) setServer(w http.ResponseWriter, r *http.Request) {
	var req ServerRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Admin == nil && req.Weight == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: want \"admin\" and/or \"weight\"")
		return
	}
	key := config.ServerKey{Backend: r.PathValue("backend"), Server: r.PathValue("server")}
	if err := s.node.SetServer(r.Context(), key, req); err != nil {
		s.writeNodeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

// decodeBody reads a JSON body strictly (unknown fields are errors).
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) writeNodeError(w http.ResponseWriter, err error) {
	var ces config.Errors
	switch {
	case errors.As(err, &ces), errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrNoQuorum):
		writeError(w, http.StatusServiceUnavailable, "no_quorum", err.Error())
	default:
		s.logger.Warn("api call failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, ErrorBody{Error: msg, Code: kind})
}

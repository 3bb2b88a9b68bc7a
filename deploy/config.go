package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// OnTimeout is what a deploy does when a server's connections have not
// drained within DrainTimeout.
type OnTimeout int

const (
	// OnTimeoutAbort puts the server back to ready and stops the deploy.
	OnTimeoutAbort OnTimeout = iota
	// OnTimeoutForce puts the server in maint anyway (its remaining
	// connections are cut) and goes on.
	OnTimeoutForce
)

var onTimeoutNames = []string{"abort", "force"}

func (o OnTimeout) String() string {
	if o < 0 || int(o) >= len(onTimeoutNames) {
		return fmt.Sprintf("invalid(%d)", int(o))
	}
	return onTimeoutNames[o]
}

// ParseOnTimeout parses "abort" or "force".
func ParseOnTimeout(s string) (OnTimeout, error) {
	for i, n := range onTimeoutNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return OnTimeout(i), nil
		}
	}
	return 0, fmt.Errorf("on-timeout %q: want abort or force", s)
}

// Defaults of Config's zero fields.
const (
	DefaultDrainTimeout   = 5 * time.Minute
	DefaultHealthyTimeout = 60 * time.Second
	DefaultPollInterval   = 200 * time.Millisecond
)

// Config is one deploy run. Field comments are operator docs.
type Config struct {
	// Backend is the backend to deploy. Required.
	Backend string
	// Servers are the servers to deploy, in this order. Empty: every
	// server of the backend, in config order.
	Servers []string
	// Exec is the hook, run with sh -c once per server while the server
	// is in maint, with TANDEM_BACKEND, TANDEM_SERVER and
	// TANDEM_SERVER_ADDR in its environment. Its output is streamed with
	// a "[server] " prefix; a non-zero exit stops the deploy. Required.
	Exec string
	// MaxUnavailable is how many servers may be out of rotation at once.
	// It is further capped so that at least one other server stays ready
	// and up. 0: 1.
	MaxUnavailable int
	// DrainTimeout bounds waiting for a drained server's connections and
	// in-flight requests to reach zero on every LB node. 0: 5m.
	DrainTimeout time.Duration
	// OnTimeout says what to do when DrainTimeout passes: abort (default)
	// or force.
	OnTimeout OnTimeout
	// HealthyTimeout bounds waiting, after the hook, for the server's
	// checks to pass rise times on a majority of the live LB nodes. 0: 60s.
	HealthyTimeout time.Duration
	// SlowStart, when set, ramps the server's weight from a tenth of its
	// weight to its full weight over this time after it is ready again.
	SlowStart time.Duration
	// Resume continues the recorded deploy of Backend (a failed, aborted
	// or interrupted one): it takes over its ID and redoes the recorded
	// server from drain, then the servers after it.
	Resume bool
	// Host is who runs the deploy, "user@host", shown in the progress
	// record. Empty: "unknown".
	Host string
	// PollInterval is how often waits look at the cluster. 0: 200ms.
	PollInterval time.Duration
}

// StatusReader reads one node's view of the cluster.
type StatusReader interface {
	Status(ctx context.Context) (api.Status, error)
}

// Client is the admin API of the node the deploy talks to
// (*api.Client implements it).
type Client interface {
	StatusReader
	Config(ctx context.Context) (api.ConfigResponse, error)
	SetServer(ctx context.Context, key config.ServerKey, req api.ServerRequest) error
	Deploys(ctx context.Context) (map[string]api.DeployRecord, error)
	RecordDeploy(ctx context.Context, rec api.DeployRecord) error
}

// Deps are the deploy's collaborators.
type Deps struct {
	// API is the node the deploy talks to. Required.
	API Client
	// Dial returns a reader of another LB node's status, from the admin
	// API address that node gossips. Required.
	Dial func(apiAddr string) StatusReader
	// Out receives progress, hook output and the summary. nil: discarded.
	Out io.Writer
	// Live draws a live progress display with cursor moves (only when Out
	// is a terminal); false: plain log lines.
	Live bool
	// Logger receives debug detail. nil: discarded.
	Logger *slog.Logger
	// OnStep, when set, is called synchronously as each server enters a
	// step (for tests and embedding); the deploy waits for it, so keep it
	// short.
	OnStep func(server string, step Step)
}

func (c Config) withDefaults() (Config, error) {
	if c.Backend == "" {
		return c, errors.New("new deploy: no backend: name the backend to deploy, e.g. tandem deploy http-in --exec '...'")
	}
	if strings.TrimSpace(c.Exec) == "" {
		return c, fmt.Errorf("new deploy %s: no --exec command: give the command that updates one server", c.Backend)
	}
	if c.MaxUnavailable < 0 || c.DrainTimeout < 0 || c.HealthyTimeout < 0 || c.SlowStart < 0 || c.PollInterval < 0 {
		return c, fmt.Errorf("new deploy %s: max-unavailable, timeouts and slowstart must not be negative", c.Backend)
	}
	if c.OnTimeout != OnTimeoutAbort && c.OnTimeout != OnTimeoutForce {
		return c, fmt.Errorf("new deploy %s: on-timeout %v: want abort or force", c.Backend, c.OnTimeout)
	}
	seen := map[string]bool{}
	for _, s := range c.Servers {
		if s == "" || seen[s] {
			return c, fmt.Errorf("new deploy %s: servers %q: want distinct, non-empty server names", c.Backend, strings.Join(c.Servers, ","))
		}
		seen[s] = true
	}
	c.MaxUnavailable = max(c.MaxUnavailable, 1)
	c.DrainTimeout = pickDur(c.DrainTimeout, DefaultDrainTimeout)
	c.HealthyTimeout = pickDur(c.HealthyTimeout, DefaultHealthyTimeout)
	c.PollInterval = pickDur(c.PollInterval, DefaultPollInterval)
	if c.Host == "" {
		c.Host = "unknown"
	}
	return c, nil
}

func pickDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

package acme

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// Config is one node's ACME manager settings (not replicated). Zero
// values take the defaults.
type Config struct {
	// Node is this node's name: the owner of the locks it takes.
	Node string
	// ClusterKey seals the private keys (certificates', the account's)
	// before they reach Raft. Required.
	ClusterKey []byte
	// LockTTL is how long a lock outlives its holder (default 30s): the
	// longest a name waits after the node ordering it died.
	LockTTL time.Duration
	// RetryMin and RetryMax bound the backoff after a failed order or
	// renewal: RetryMin, doubling after each failure, at most RetryMax
	// (default 2 minutes and 2 hours).
	RetryMin, RetryMax time.Duration
	// CheckInterval is the longest a name waits between two looks at its
	// certificate (default 12h); a worker also wakes when the renewal
	// window opens.
	CheckInterval time.Duration
}

// Defaults of Config.
const (
	DefaultLockTTL       = 30 * time.Second
	DefaultRetryMin      = 2 * time.Minute
	DefaultRetryMax      = 2 * time.Hour
	DefaultCheckInterval = 12 * time.Hour
	// RenewalRatio is the part of a certificate's lifetime left when it is
	// renewed.
	RenewalRatio = 1.0 / 3
)

// Deps are the manager's collaborators.
type Deps struct {
	Logger *slog.Logger
}

// Manager obtains and renews the certificates the cluster config's acme
// section names, on this node, in turns with the other nodes.
type Manager struct {
	cfg Config
	r   Replicated
	log *slog.Logger

	mu     sync.Mutex
	status map[string]NameStatus
}

// New checks cfg; it starts nothing.
func New(cfg Config, r Replicated, deps Deps) (*Manager, error) {
	if len(cfg.ClusterKey) == 0 {
		return nil, errors.New("acme: no cluster key: the certificates' private keys cannot be sealed (set cluster_key: tandem keygen)")
	}
	if cfg.Node == "" {
		return nil, errors.New("acme: no node name")
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{cfg: cfg, r: r, log: log.With("component", "acme"), status: map[string]NameStatus{}}, nil
}

// settings is what the cluster config's acme section asks for, plainly.
type settings struct {
	directory, email string
	names            []string
	rootsPEM         string
	roots            *x509.CertPool
}

func settingsOf(c *config.Cluster) (settings, bool) {
	if c == nil || c.ACME == nil {
		return settings{}, false
	}
	a := c.ACME
	s := settings{directory: a.Directory(), email: a.Email, names: slices.Clone(a.Names)}
	if a.CARoots != "" {
		s.rootsPEM = c.Files[a.CARoots]
		s.roots = x509.NewCertPool()
		s.roots.AppendCertsFromPEM([]byte(s.rootsPEM))
	}
	return s, true
}

func (s settings) same(o settings) bool {
	return s.directory == o.directory && s.email == o.email && s.rootsPEM == o.rootsPEM && slices.Equal(s.names, o.names)
}

// Run manages the names until ctx ends; it returns once every goroutine
// it started has exited.
func (m *Manager) Run(ctx context.Context) error {
	store := newStorage(m.r, m.cfg.ClusterKey, m.cfg.Node, m.cfg.LockTTL, m.log)
	defer store.close()
	changed, unsubscribe := m.r.Subscribe()
	defer unsubscribe()
	var (
		cur    settings
		active bool
		stop   = func() {}
	)
	defer func() { stop() }()
	for {
		next, on := settingsOf(m.r.State().Config)
		if on != active || !next.same(cur) {
			stop()
			m.resetStatus(next.names)
			cur, active, stop = next, on, func() {}
			if on {
				stop = m.start(ctx, next, store)
				m.log.Info("managing certificates", "names", next.names, "directory", next.directory)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// start runs one worker per name with a certmagic config of s; the
// returned func stops them and waits.
func (m *Manager) start(ctx context.Context, s settings, store *Storage) func() {
	ctx, cancel := context.WithCancel(ctx)
	iss := newIssuer(s, store, m.log)
	zl := zap.New(slogCore{h: m.log.Handler()})
	var cmc *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cmc, nil },
		// The cache holds no certificate (the balancer serves them from the
		// store), so its maintenance loop has nothing to do; the interval
		// only feeds certmagic's emergency rule (renew when fewer than five
		// intervals are left), which must not fire before RenewalRatio.
		RenewCheckInterval: time.Second,
		Logger:             zl,
	})
	cmc = certmagic.New(cache, certmagic.Config{
		Storage:             store,
		Issuers:             []certmagic.Issuer{iss},
		RenewalWindowRatio:  RenewalRatio,
		KeySource:           certmagic.StandardKeyGenerator{KeyType: certmagic.P256},
		DisableARI:          true, // renewal follows RenewalRatio, as documented
		DisableStorageCheck: true, // the storage is the replicated state; every write is a commit
		Logger:              zl,
	})
	w := &worker{m: m, cmc: cmc, iss: iss}
	var wg sync.WaitGroup
	for _, name := range s.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, name)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		cache.Stop()
	}
}

// NameStatus is where the certificate of one name stands on this node.
type NameStatus struct {
	Name     string    `json:"name"`
	NotAfter time.Time `json:"not_after,omitzero"` // the certificate in the store; zero: none yet
	Serial   string    `json:"serial,omitempty"`
	// Error is the last failure to obtain, renew or publish it, until a
	// success; ErrorTime when it happened; NextTry when it is tried again.
	Error     string    `json:"error,omitempty"`
	ErrorTime time.Time `json:"error_time,omitzero"`
	Failures  int       `json:"failures,omitempty"` // in a row
	NextCheck time.Time `json:"next_check,omitzero"`
}

// Status reports every managed name, sorted.
func (m *Manager) Status() []NameStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]NameStatus, 0, len(m.status))
	for _, s := range m.status {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b NameStatus) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

func (m *Manager) resetStatus(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status = map[string]NameStatus{}
	for _, n := range names {
		m.status[n] = NameStatus{Name: n}
	}
}

func (m *Manager) setStatus(s NameStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.status[s.Name]; ok {
		m.status[s.Name] = s
	}
}

// backoff is the wait before the next try after failures in a row.
func (m *Manager) backoff(failures int) time.Duration {
	d := m.cfg.RetryMin
	for i := 1; i < failures && d < m.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, m.cfg.RetryMax)
}

var errNoCertificate = errors.New("no certificate in storage")

// OrderingNode is the node that holds name's order lock in st (certmagic
// names it issue_cert_NAME), or "".
func OrderingNode(st *cluster.State, name string) string {
	if st == nil || st.ACME == nil {
		return ""
	}
	return st.ACME.Locks["issue_cert_"+name].Owner
}

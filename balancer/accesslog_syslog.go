package balancer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tandem-lb/tandem/balancer/accesslog"
	"github.com/tandem-lb/tandem/config"
)

// syslogSet owns the balancer's syslog writers across config versions: a
// writer whose target a new config keeps goes on (with its queue and
// counters), the others are stopped. Guarded by Balancer.mu; its zero
// value is ready.
type syslogSet struct {
	writers  map[string]*sysWriter     // by writerKey
	counters map[string]*atomic.Uint64 // %lc, by frontend name
	reqs     atomic.Uint64             // %rt
	// binds is how many listeners the current config has: each holds a
	// slot of the global limiter while it waits in accept, which %ac
	// must not count.
	binds atomic.Int64
	wg    sync.WaitGroup // every writer's Run
	host  string
	pid   int
}

type sysWriter struct {
	w      *accesslog.Writer
	cancel context.CancelFunc // nil until started
}

// syslogPlan is what a config being applied logs to.
type syslogPlan struct {
	writers map[string]*sysWriter
	fes     map[string]*feSyslog
	binds   int
}

// feSyslog is one frontend's syslog traffic log, compiled for one config
// version.
type feSyslog struct {
	set       *syslogSet
	prog, sd  *accesslog.Program // sd nil: no log-format-sd
	needs     accesslog.Needs
	connect   bool // HAProxy's "Connect from" line: once per connection
	writers   []*accesslog.Writer
	dontLog0  bool // option dontlognull
	sepErrors bool // option log-separate-errors
	cookie    string
	cookieLen int
	// reqHdrs and resHdrs are the captured field names, lower case.
	reqHdrs, resHdrs []string
	lc               *atomic.Uint64
}

// writerKey identifies a writer: same target and same header fields.
func writerKey(t accesslog.Target, tag, host string) string {
	return t.String() + "|" + tag + "|" + host
}

// plan compiles the log formats of c's frontends and finds or makes their
// writers (b.mu held). Nothing is started: use does that.
func (s *syslogSet) plan(c *config.Cluster, log *slog.Logger, stdout io.Writer) (*syslogPlan, error) {
	if s.pid == 0 {
		s.pid = os.Getpid()
		s.host, _ = os.Hostname()
	}
	p := &syslogPlan{writers: map[string]*sysWriter{}, fes: map[string]*feSyslog{}}
	host := ""
	if c.Global.LogSendHostname {
		host = s.host
		if c.Global.LogHostname != "" {
			host = c.Global.LogHostname
		}
	}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		p.binds += len(f.Bind)
		if len(f.Log) == 0 {
			continue
		}
		fs, err := s.frontend(f, p, c.Global.LogTag, host, log, stdout)
		if err != nil {
			return nil, fmt.Errorf("apply frontend %s: %w", f.Name, err)
		}
		p.fes[f.Name] = fs
	}
	return p, nil
}

func (s *syslogSet) frontend(f *config.Frontend, p *syslogPlan, tag, host string, log *slog.Logger, stdout io.Writer) (*feSyslog, error) {
	opts := f.CompileOptions(f.Mode)
	fs := &feSyslog{set: s, dontLog0: *f.DontLogNull, sepErrors: *f.LogSeparateErrors}
	if format := f.Logging.Format(); format == "" {
		fs.prog, fs.connect = accesslog.ConnectLog(), true
	} else {
		prog, err := accesslog.Compile(format, opts)
		if err != nil {
			return nil, fmt.Errorf("compile log format: %w", err)
		}
		fs.prog = prog
	}
	if f.LogFormatSD != "" {
		sd, err := accesslog.Compile(f.LogFormatSD, opts)
		if err != nil {
			return nil, fmt.Errorf("compile log-format-sd: %w", err)
		}
		fs.sd = sd
		fs.needs |= sd.Needs()
	}
	fs.needs |= fs.prog.Needs()
	for _, c := range fs.prog.RequestHeaders() {
		fs.reqHdrs = append(fs.reqHdrs, strings.ToLower(c.Name))
	}
	for _, c := range fs.prog.ResponseHeaders() {
		fs.resHdrs = append(fs.resHdrs, strings.ToLower(c.Name))
	}
	if cc := f.CaptureCookie; cc != nil {
		fs.cookie, fs.cookieLen = cc.Name, cc.Len
	}
	if s.counters == nil {
		s.counters = map[string]*atomic.Uint64{}
	}
	if fs.lc = s.counters[f.Name]; fs.lc == nil {
		fs.lc = new(atomic.Uint64)
		s.counters[f.Name] = fs.lc
	}
	for _, lt := range f.Log {
		t, err := lt.Target()
		if err != nil {
			return nil, fmt.Errorf("log target %q: %w", lt.Address, err)
		}
		key := writerKey(t, tag, host)
		sw := p.writers[key]
		if sw == nil {
			sw = s.writers[key]
		}
		if sw == nil {
			w, err := accesslog.NewWriter(accesslog.WriterConfig{Target: t, Tag: tag, PID: s.pid, Hostname: host},
				accesslog.WriterDeps{Logger: log, Stdout: stdout})
			if err != nil {
				return nil, err
			}
			sw = &sysWriter{w: w}
		}
		p.writers[key] = sw
		fs.writers = append(fs.writers, sw.w)
	}
	return fs, nil
}

// use starts the plan's new writers and stops those it dropped (b.mu
// held). A stopped writer sends what it holds, then its Run returns.
func (s *syslogSet) use(p *syslogPlan, ctx context.Context) {
	for key, sw := range s.writers {
		if p.writers[key] != sw && sw.cancel != nil {
			sw.cancel()
		}
	}
	for _, sw := range p.writers {
		if sw.cancel == nil {
			wctx, cancel := context.WithCancel(ctx)
			sw.cancel = cancel
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				sw.w.Run(wctx)
			}()
		}
	}
	s.writers = p.writers
	s.binds.Store(int64(p.binds))
}

// stopAll stops every writer (b.mu held); wait joins them.
func (s *syslogSet) stopAll() {
	for _, sw := range s.writers {
		if sw.cancel != nil {
			sw.cancel()
		}
	}
}

func (s *syslogSet) wait() { s.wg.Wait() }

// LogTargetStats are the counters of one syslog target.
type LogTargetStats struct {
	Target string // as a "log" line names it
	accesslog.Stats
}

// LogTargets returns the counters of every syslog target the current
// config logs to, sorted by target: Dropped counts the lines lost because
// the target was slower than the traffic (the data plane never waits).
func (b *Balancer) LogTargets() []LogTargetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]LogTargetStats, 0, len(b.syslogs.writers))
	for _, sw := range b.syslogs.writers {
		out = append(out, LogTargetStats{Target: sw.w.Target().String(), Stats: sw.w.Stats()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

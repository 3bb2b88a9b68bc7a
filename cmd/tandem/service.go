package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/tandem-lb/tandem/agent"
	"github.com/tandem-lb/tandem/config"
)

// The agent as a service (systemd Type=notify, packaging/tandem.service):
//
//   - READY=1 once the frontends of the config it serves listen and the
//     admin API accepts connections (`systemctl start` returns then, and
//     units ordered after tandem.service can use both);
//   - SIGHUP (`systemctl reload`) re-reads the node settings: the log level
//     changes at once; every other node setting is the node's identity or
//     built into a listener or the cluster transport at start, so a changed
//     one is reported by name and applies on the next restart;
//   - STOPPING=1 as soon as the stop begins (the drain and the VIP handover
//     that follow can take up to drain_timeout plus a few seconds).
//
// Without NOTIFY_SOCKET (not under systemd) the notifications are no-ops;
// SIGHUP works the same.

// notifier is where lifecycle notifications go.
type notifier interface {
	notify(state ...string)
}

// systemdNotifier sends sd_notify datagrams to $NOTIFY_SOCKET.
type systemdNotifier struct{ logger *slog.Logger }

func (n systemdNotifier) notify(state ...string) {
	// The variable stays set: the agent notifies more than once, and
	// systemd accepts datagrams from the main process only (NotifyAccess=main).
	if _, err := daemon.SdNotify(false, strings.Join(state, "\n")); err != nil {
		n.logger.Warn("notify systemd", "err", err)
	}
}

// service runs beside the agent: it reports readiness, reloads node
// settings on SIGHUP and reports the stop.
type service struct {
	logger  *slog.Logger
	level   *slog.LevelVar // the level every logger of the agent shares
	sd      notifier
	hup     <-chan os.Signal
	reload  func() (config.Node, error) // reads the node settings afresh
	running config.Node                 // the settings in force
	ready   func()                      // called once, after READY=1
}

// run returns when ctx is done, after STOPPING=1.
func (s *service) run(ctx context.Context, a *agent.Agent) {
	stopping := func() { s.sd.notify(daemon.SdNotifyStopping, "STATUS=stopping: draining, handing the VIPs over") }
	s.sd.notify("STATUS=starting: waiting for the cluster config to be served")
	for _, ch := range []<-chan struct{}{a.Ready(), a.APIListening()} {
		if !s.await(ctx, ch) {
			stopping()
			return
		}
	}
	s.sd.notify(daemon.SdNotifyReady, s.status())
	s.ready()
	for {
		select {
		case <-ctx.Done():
			stopping()
			return
		case <-s.hup:
			s.reloadOnce()
		}
	}
}

// await waits for ch, reloading on SIGHUP meanwhile; false if ctx ended.
func (s *service) await(ctx context.Context, ch <-chan struct{}) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-ch:
			return true
		case <-s.hup:
			s.reloadOnce()
		}
	}
}

func (s *service) status() string {
	return fmt.Sprintf("STATUS=serving; admin API on %s; log level %s", s.running.APIAddr, s.level.Level())
}

// reloadOnce re-reads the node settings and applies those that can change
// live. Bad settings are reported and the running ones are kept: a typo in
// tandem.yaml must not take a load balancer down.
func (s *service) reloadOnce() {
	s.sd.notify(daemon.SdNotifyReloading, monotonicUsec())
	defer func() { s.sd.notify(daemon.SdNotifyReady, s.status()) }()
	next, err := s.reload()
	if err != nil {
		s.logger.Error("reload node settings: keeping the running ones", "err", err)
		return
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(next.LogLevel)); err != nil {
		s.logger.Error("reload node settings: keeping the running ones", "err", fmt.Errorf("log_level %q: want debug, info, warn or error", next.LogLevel))
		return
	}
	if changed := restartSettings(s.running, next); len(changed) > 0 {
		s.logger.Warn("node settings changed that apply only after a restart (systemctl restart tandem); still running with the old values",
			"settings", strings.Join(changed, ","))
	}
	// Logged before the level changes, so that every line written at the
	// new level comes after this one.
	s.logger.Info("node settings reloaded", "log_level", l.String())
	s.level.Set(l)
	s.running.LogLevel = next.LogLevel
}

// restartSettings names the settings that differ between the running and
// the re-read settings, other than those reloadOnce applies live.
func restartSettings(running, next config.Node) []string {
	var out []string
	rv, nv := reflect.ValueOf(running), reflect.ValueOf(next)
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		switch f.Name {
		case "LogLevel":
			continue // live
		case "VIPPriority":
			name = "vip_priority" // parsed by hand, not by mapstructure
		case "BGP":
			name = "bgp_* (bgp_asn, bgp_peers, ...)" // embedded (squash)
		}
		if !reflect.DeepEqual(rv.Field(i).Interface(), nv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// monotonicUsec is the MONOTONIC_USEC field systemd (≥ 253) wants beside
// RELOADING=1, to tell this reload from a later one.
func monotonicUsec() string {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("MONOTONIC_USEC=%d", ts.Nano()/1000)
}

// newLevelLogger is newLogger with a level that can change while it runs.
func newLevelLogger(w io.Writer, level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(level))); err != nil {
		return nil, nil, usageError{fmt.Errorf("log level %q: want debug, info, warn or error", level)}
	}
	lv.Set(l)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), lv, nil
}

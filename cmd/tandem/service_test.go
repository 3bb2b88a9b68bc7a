package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-lb/tandem/config"
)

// sent records notifications instead of sending them to systemd (the real
// datagrams are checked by packaging's test, against the installed agent).
type sent struct{ msgs []string }

func (s *sent) notify(state ...string) { s.msgs = append(s.msgs, strings.Join(state, "\n")) }

func TestRestartSettingsNamesWhatChangedButTheLogLevel(t *testing.T) {
	base := config.Node{Name: "lb1", LogLevel: "info", DrainTimeout: 10 * time.Second, VIPPriority: map[string]int{"vip1": 150}}
	for _, tc := range []struct {
		name string
		edit func(*config.Node)
		want []string
	}{
		{"nothing", func(*config.Node) {}, nil},
		{"log level is live", func(n *config.Node) { n.LogLevel = "debug" }, nil},
		{"one setting", func(n *config.Node) { n.DrainTimeout = 3 * time.Second }, []string{"drain_timeout"}},
		{"priority map", func(n *config.Node) { n.VIPPriority = map[string]int{"vip1": 100} }, []string{"vip_priority"}},
		{"several, sorted", func(n *config.Node) { n.Join = []string{"10.0.0.1"}; n.APIToken = "x"; n.LogLevel = "warn" }, []string{"api_token", "join"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base
			next.VIPPriority = map[string]int{"vip1": 150}
			tc.edit(&next)
			if diff := cmp.Diff(tc.want, restartSettings(base, next)); diff != "" {
				t.Errorf("restartSettings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReloadChangesTheLogLevelAndKeepsSettingsOnError(t *testing.T) {
	var buf bytes.Buffer
	logger, level, err := newLevelLogger(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	var next config.Node
	var nextErr error
	notes := &sent{}
	s := &service{logger: logger, level: level, sd: notes, running: config.Node{Name: "lb1", LogLevel: "info", APIAddr: "127.0.0.1:8404"},
		reload: func() (config.Node, error) { return next, nextErr }}

	next = config.Node{Name: "lb1", LogLevel: "debug", APIAddr: "127.0.0.1:8404", RaftPort: 9000}
	s.reloadOnce()
	if level.Level() != slog.LevelDebug {
		t.Errorf("level after reload = %v, want DEBUG", level.Level())
	}
	if !strings.Contains(buf.String(), "settings=raft_port") {
		t.Errorf("no restart warning naming raft_port:\n%s", buf.String())
	}
	if len(notes.msgs) != 2 || !strings.HasPrefix(notes.msgs[0], "RELOADING=1\nMONOTONIC_USEC=") || !strings.HasPrefix(notes.msgs[1], "READY=1\nSTATUS=serving") {
		t.Errorf("notifications = %q, want RELOADING=1 with MONOTONIC_USEC, then READY=1", notes.msgs)
	}

	for _, bad := range []struct {
		n   config.Node
		err error
	}{
		{config.Node{}, errors.New("read node settings /etc/tandem/tandem.yaml: yaml: line 3")},
		{config.Node{Name: "lb1", LogLevel: "loud"}, nil},
	} {
		buf.Reset()
		next, nextErr = bad.n, bad.err
		s.reloadOnce()
		if level.Level() != slog.LevelDebug || s.running.LogLevel != "debug" {
			t.Errorf("a refused reload changed the level to %v (%q)", level.Level(), s.running.LogLevel)
		}
		if !strings.Contains(buf.String(), "keeping the running ones") {
			t.Errorf("refused reload not reported:\n%s", buf.String())
		}
	}
	if got := notes.msgs[len(notes.msgs)-1]; !strings.HasPrefix(got, "READY=1") {
		t.Errorf("a refused reload must still end with READY=1, got %q", got)
	}
}

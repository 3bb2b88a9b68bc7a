package deploy

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHookStreamsLinesAndReportsExitStatus(t *testing.T) {
	tests := []struct {
		name      string
		cmd       string
		wantLines []string
		wantErr   string
	}{
		{"ok", `echo one; echo two >&2; printf 'no newline'`, []string{"one", "two", "no newline"}, ""},
		{"env", `echo "$TANDEM_SERVER"`, []string{"server1"}, ""},
		{"exit", `echo bad; exit 7`, []string{"bad"}, "hook exited with status 7"},
		{"signal", `kill -TERM $$`, nil, "hook killed by signal terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var lines []string
			err := runHook(context.Background(), tt.cmd, []string{"TANDEM_SERVER=server1"}, func(l string) {
				mu.Lock()
				lines = append(lines, l)
				mu.Unlock()
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHookProcessGroupKilledOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		// A grandchild holding the output pipe must not keep the hook alive.
		done <- runHook(ctx, `sleep 30 & echo started; wait`, nil, func(string) { once.Do(func() { close(started) }) })
	}()
	<-started
	begin := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "hook killed") {
			t.Errorf("err = %v, want hook killed", err)
		}
		if d := time.Since(begin); d > hookWaitDelay {
			t.Errorf("hook took %v to stop after cancel", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hook still running 10s after cancel")
	}
}

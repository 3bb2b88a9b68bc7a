package runtimeapi

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tandem-lb/tandem/config"
	"github.com/tandem-lb/tandem/testenv/proctest"
)

// tmux drives one program in a detached tmux session on a server of its
// own (-L), so the test never touches another tmux.
type tmux struct {
	t    *testing.T
	bin  string
	sock string
}

func startTmux(t *testing.T, cmd ...string) *tmux {
	t.Helper()
	tm := &tmux{t: t, bin: need(t, "tmux", "tmux"), sock: fmt.Sprintf("tandem-test-%d", proctest.FreePort(t))}
	args := append([]string{"-L", tm.sock, "new-session", "-d", "-s", "t", "-x", "200", "-y", "50"}, cmd...)
	if out, err := exec.Command(tm.bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screen:\n%s", tm.screen(false))
		}
		_ = exec.Command(tm.bin, "-L", tm.sock, "kill-server").Run()
	})
	return tm
}

// screen captures the pane; with escapes, attributes (reverse video of
// the cursor line) are kept.
func (tm *tmux) screen(escapes bool) string {
	args := []string{"-L", tm.sock, "capture-pane", "-p", "-t", "t"}
	if escapes {
		args = append(args, "-e")
	}
	out, err := exec.Command(tm.bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane: %v: %s)", err, out)
	}
	return string(out)
}

func (tm *tmux) keys(keys ...string) {
	tm.t.Helper()
	args := append([]string{"-L", tm.sock, "send-keys", "-t", "t"}, keys...)
	if out, err := exec.Command(tm.bin, args...).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys %v: %v\n%s", keys, err, out)
	}
}

// cursor returns the row of hatop's cursor (the reverse-video line
// between the column header and the footer) and its text; -1 when none
// is shown.
func (tm *tmux) cursor() (int, string) {
	body := false
	for row, l := range strings.Split(tm.screen(true), "\n") {
		switch {
		case strings.Contains(l, "NAME ") && strings.Contains(l, "STATUS"):
			body = true
		case strings.Contains(l, "H=HELP"):
			return -1, ""
		case body:
			if i := strings.Index(l, "\x1b[7m"); i >= 0 {
				return row, strings.TrimLeft(ansi(l[i:]), " ")
			}
		}
	}
	return -1, ""
}

// ansi strips escape sequences.
func ansi(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i++; i < len(s) && (s[i] < '@' || s[i] > '~' || s[i] == '['); i++ {
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestHatopShowsTheServersAndItsKeysActOnTheOtherNode: hatop on lb1's
// socket shows the proxies and servers with their state; its F10 key
// ("disable server on one backend") puts server1 in maintenance on lb2
// too, and F9 brings it back.
func TestHatopShowsTheServersAndItsKeysActOnTheOtherNode(t *testing.T) {
	hatop := need(t, "hatop", "hatop")
	p := startPair(t)
	tm := startTmux(t, hatop, "-s", p.admin(p.lb1))
	proctest.WaitFor(t, "hatop showing the frontend and both servers", 20*time.Second, func() bool {
		s := tm.screen(false)
		return strings.Contains(s, ">>> http-in") && strings.Contains(s, "FRONTEND") &&
			lineHas(s, "server1", "UP", "L7OK") && lineHas(s, "server2", "UP", "L7OK") && strings.Contains(s, "Node: lb1")
	})
	// Move the cursor down to server1, one key at a time, each once hatop
	// has drawn the previous one (it steps over every line).
	for range 10 {
		row, text := tm.cursor()
		if strings.HasPrefix(text, "server1 ") {
			break
		}
		tm.keys("Down")
		proctest.WaitFor(t, "hatop's cursor to move down", 10*time.Second, func() bool {
			r, _ := tm.cursor()
			return r > row
		})
	}
	if _, text := tm.cursor(); !strings.HasPrefix(text, "server1 ") {
		t.Fatalf("hatop's cursor is on %q, not server1", text)
	}
	tm.keys("F10")
	proctest.WaitFor(t, "lb2 to put server1 in maintenance (hatop's F10 on lb1)", 15*time.Second, func() bool {
		s := serverOn(t, p.lb2, "server1")
		return s.Admin == config.AdminMaint && !s.Routed
	})
	proctest.WaitFor(t, "hatop showing server1 MAINT", 10*time.Second, func() bool {
		return lineHas(tm.screen(false), "server1", "MAINT")
	})
	tm.keys("F9")
	proctest.WaitFor(t, "lb2 to take server1 back (hatop's F9 on lb1)", 15*time.Second, func() bool {
		s := serverOn(t, p.lb2, "server1")
		return s.Admin == config.AdminReady && s.Routed
	})
	tm.keys("q")
}

// lineHas: some line of the screen starts with name and holds every word.
func lineHas(screen, name string, words ...string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if !strings.HasPrefix(l, name+" ") {
			continue
		}
		f := strings.Fields(l)
		ok := true
		for _, w := range words {
			found := false
			for _, x := range f {
				found = found || x == w
			}
			ok = ok && found
		}
		if ok {
			return true
		}
	}
	return false
}

package deploy

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal), where
// a live display makes sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// row is one server's line of the live display.
type row struct {
	server string
	step   Step
	since  time.Time // entered step
	start  time.Time // left pending
	end    time.Time // reached a final step
	detail string
	shown  time.Time // plain mode: when detail was last printed
}

// progress writes everything a deploy prints. In live mode it keeps a
// block of one line per server at the bottom of the terminal and prints
// log and hook lines above it; otherwise it prints plain log lines.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	live  bool
	rows  []*row
	drawn int // lines of the block currently on screen
}

func newProgress(out io.Writer, live bool) *progress {
	if out == nil {
		out = io.Discard
	}
	return &progress{out: out, live: live}
}

// plan sets the servers shown in the live display.
func (p *progress) plan(servers []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range servers {
		p.rows = append(p.rows, &row{server: s})
	}
	p.redrawLocked()
}

func (p *progress) row(server string) *row {
	for _, r := range p.rows {
		if r.server == server {
			return r
		}
	}
	r := &row{server: server}
	p.rows = append(p.rows, r)
	return r
}

var stepText = map[Step]string{
	StepDrain:     "drain: no new requests; waiting for its connections to finish on every LB node",
	StepMaint:     "maint: out of rotation",
	StepHook:      "hook: running",
	StepHealthy:   "healthy: waiting for the checks to pass on a majority of LB nodes",
	StepReady:     "ready: back in rotation",
	StepSlowStart: "slowstart: ramping its weight up",
	StepDone:      "done",
	StepFailed:    "FAILED",
	StepAborted:   "aborted",
}

// step records that server entered st.
func (p *progress) step(server string, st Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	r := p.row(server)
	if r.start.IsZero() {
		r.start = now
	}
	r.step, r.since, r.detail = st, now, ""
	if st == StepDone || st == StepFailed || st == StepAborted {
		r.end = now
	}
	if p.live {
		p.redrawLocked()
		return
	}
	fmt.Fprintf(p.out, "%s %s: %s\n", now.Format(time.TimeOnly), server, stepText[st])
}

// detail shows what a wait is waiting for (live counts). Plain mode prints
// it when it changed, at most every 2 seconds.
func (p *progress) detail(server, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.row(server)
	if r.detail == text {
		return
	}
	r.detail = text
	if p.live {
		p.redrawLocked()
		return
	}
	if now := time.Now(); now.Sub(r.shown) >= 2*time.Second {
		r.shown = now
		fmt.Fprintf(p.out, "%s %s: %s\n", now.Format(time.TimeOnly), server, text)
	}
}

// logf prints a line (above the live block).
func (p *progress) logf(format string, args ...any) {
	p.print(fmt.Sprintf(format, args...))
}

// hookLine prints one line of a hook's output with the server's prefix.
func (p *progress) hookLine(server, line string) { p.print("[" + server + "] " + line) }

func (p *progress) print(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.clearLocked()
		fmt.Fprintln(p.out, line)
		p.redrawLocked()
		return
	}
	fmt.Fprintln(p.out, line)
}

// tick refreshes the elapsed times of the live display.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.redrawLocked()
	}
}

// stop leaves the final block on screen; later output goes below it.
func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.redrawLocked()
		p.drawn = 0
		p.live = false
	}
}

func (p *progress) clearLocked() {
	if p.drawn > 0 {
		fmt.Fprintf(p.out, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

func (p *progress) redrawLocked() {
	if !p.live {
		return
	}
	p.clearLocked()
	now := time.Now()
	var b strings.Builder
	for _, r := range p.rows {
		fmt.Fprintf(&b, "  %-16s %-10s %s\n", r.server, r.step, r.elapsed(now))
		p.drawn++
	}
	io.WriteString(p.out, b.String())
}

func (r *row) elapsed(now time.Time) string {
	switch {
	case r.start.IsZero():
		return ""
	case !r.end.IsZero():
		return "total " + r.end.Sub(r.start).Round(100*time.Millisecond).String()
	}
	s := now.Sub(r.since).Round(time.Second).String()
	if r.detail != "" {
		s += "  " + r.detail
	}
	return s
}

// printSummary writes the per-server table at the end of a run.
func printSummary(w io.Writer, s Summary) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\ndeploy %s (id %s) in %s\n", s.Backend, s.ID, s.Elapsed.Round(100*time.Millisecond))
	fmt.Fprintln(tw, "SERVER\tRESULT\tDRAIN\tHOOK\tTO HEALTHY\tTOTAL")
	for _, r := range s.Servers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Server, r.Result, dur(r.Drain), dur(r.Hook), dur(r.Healthy), dur(r.Total))
	}
	tw.Flush()
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(10 * time.Millisecond).String()
}

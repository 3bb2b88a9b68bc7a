package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

func newStatusCmd(g *globals) *cobra.Command {
	var (
		asJSON  bool
		watch   bool
		every   time.Duration
		color   string
		local   bool
		perNode bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the node: cluster members, config version, frontends, servers and their health",
		Long: `Show this node's view of the cluster as aligned tables: members, Raft,
VIPs, deploys in progress, frontends and every server (admin state, agreed
health, each LB node's view, this node's checks, connections, requests).

Connections, requests and errors are summed over every LB node that
answers (the node asks the others' admin APIs; a node that does not answer
is named as missing); --per-node adds each node's figures, --local shows
only this node's.

Colour is used only when standard output is a terminal (--color=auto, the
default; NO_COLOR turns it off). --watch redraws every --interval until
interrupted; --json prints the API's JSON once.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			out := c.OutOrStdout()
			if asJSON && watch {
				return usageError{fmt.Errorf("--json and --watch: pick one")}
			}
			useColor, err := colorMode(color, out)
			if err != nil {
				return err
			}
			if local && perNode {
				return usageError{fmt.Errorf("--local and --per-node: pick one")}
			}
			get := func(ctx context.Context, cl *api.Client) (api.Status, error) {
				if local {
					return cl.Status(ctx)
				}
				return cl.ClusterStatus(ctx, perNode)
			}
			if asJSON {
				st, err := get(c.Context(), g.client())
				if err != nil {
					return err
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			if !watch {
				st, err := get(c.Context(), g.client())
				if err != nil {
					return err
				}
				printStatus(out, st, useColor)
				return nil
			}
			if every < 200*time.Millisecond {
				return usageError{fmt.Errorf("--interval %v: want at least 200ms", every)}
			}
			return watchStatus(c.Context(), g.client(), get, out, every, useColor)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "redraw every --interval until interrupted")
	cmd.Flags().DurationVar(&every, "interval", 2*time.Second, "redraw interval of --watch")
	cmd.Flags().StringVar(&color, "color", "auto", "colour: auto (only on a terminal), always, never")
	cmd.Flags().BoolVar(&local, "local", false, "show only this node's connections and requests, not the cluster's sums")
	cmd.Flags().BoolVar(&perNode, "per-node", false, "also show each LB node's connections and requests")
	return cmd
}

// colorMode decides whether to colour output written to w.
func colorMode(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
			return false, nil
		}
		return isTerminal(w), nil
	}
	return false, usageError{fmt.Errorf("--color %q: want auto, always or never", mode)}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// watchStatus redraws the status until ctx is done. A failed fetch is
// shown in place of the tables and retried at the next tick.
func watchStatus(ctx context.Context, c *api.Client, get func(context.Context, *api.Client) (api.Status, error), w io.Writer, every time.Duration, useColor bool) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var b strings.Builder
		if useColor {
			b.WriteString("\x1b[H\x1b[2J") // home, clear screen
		} else {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s  (every %v, Ctrl-C to stop)\n", time.Now().Format("15:04:05"), every)
		fctx, cancel := context.WithTimeout(ctx, every)
		st, err := get(fctx, c)
		cancel()
		if err != nil {
			fmt.Fprintf(&b, "cannot get status: %v\n", err)
		} else {
			printStatus(&b, st, useColor)
		}
		io.WriteString(w, b.String())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func printStatus(w io.Writer, st api.Status, useColor bool) {
	p := painter(useColor)
	quorum := p.c(green, "quorum")
	if !st.Quorum {
		quorum = p.c(red, "NO QUORUM") + " (traffic continues on the last committed config)"
	}
	fmt.Fprintf(w, "node %s (%s)  config version %d  %s\n", p.c(bold, st.Node), st.Role, st.Version, quorum)
	if st.ConfigError != "" {
		fmt.Fprintf(w, "%s %s\n", p.c(red, "WARNING:"), st.ConfigError)
	}
	for _, c := range st.Certificates {
		if left := time.Until(c.NotAfter); left < api.ExpiryWarning {
			fmt.Fprintf(w, "%s certificate %s (%s) %s\n", p.c(red, "WARNING:"), c.Name, strings.Join(c.Frontends, ", "), expiryText(left))
		}
	}
	printACME(w, st.ACME, p)
	if r := st.Raft; r != nil {
		leader := r.Leader
		if leader == "" {
			leader = p.c(red, "NONE") + " (no quorum: traffic continues on the last committed config)"
		}
		fmt.Fprintf(w, "raft: %s, leader %s, term %d, commit %d, applied %d, voters %d\n", r.State, leader, r.Term, r.CommitIndex, r.AppliedIndex, r.Voters)
	}
	if len(st.Members) > 0 {
		t := table{head: []string{"NODE", "ADDRESS", "ROLE", "STATUS", "VOTER", "LEADER", "VERSION"}}
		for _, m := range st.Members {
			t.add(p.cell(m.Name), p.cell(m.Addr), p.cell(m.Role), p.memberStatus(m.Status), p.cell(yesNo(m.Voter)),
				p.leader(m.Leader), p.cell(versionText(m.Version)))
		}
		t.write(w)
	}
	printVIPTable(w, st.VIPs, p)
	printBGPSessions(w, st.BGP)
	for _, d := range sortedDeploys(st.Deploys) {
		fmt.Fprintf(w, "\n%s %s: server %s, step %s since %s, by %s (id %s)\n", p.c(yellow, "DEPLOY"), d.Backend, d.Server, d.Step, d.Since.Local().Format("15:04:05"), d.Host, d.ID)
	}
	printCounterNodes(w, st, p)
	t := table{head: []string{"FRONTEND", "MODE", "BIND", "LISTENING", "CONNS", "TOTAL", "REQUESTS"}}
	for _, f := range st.Frontends {
		ready := p.colored(green, "yes")
		if !f.Ready {
			ready = p.colored(red, "no")
		}
		tr := api.Traffic{CurConns: f.CurConns, TotalConns: f.TotalConns, Requests: f.Requests}
		if f.Cluster != nil {
			tr = *f.Cluster
		}
		t.add(p.cell(f.Name), p.cell(f.Mode), p.cell(strings.Join(f.Bind, ",")), ready,
			p.num(tr.CurConns), p.unum(tr.TotalConns), p.unum(tr.Requests))
	}
	t.write(w)
	t = table{head: []string{"SERVER", "ADDRESS", "ADMIN", "WEIGHT", "AGREED", "OWN", "VIEWS", "ROUTED", "CONNS", "REQUESTS", "ERRORS", "LAST CHECK"}}
	for _, s := range st.Servers {
		routed := p.cell("yes")
		if !s.Routed {
			routed = p.colored(yellow, "no")
		}
		tr := api.Traffic{CurConns: s.CurConns, Requests: s.Requests, Errors: s.Errors}
		if s.Cluster != nil {
			tr = *s.Cluster
		}
		t.add(p.cell(s.Backend+"/"+s.Server), p.cell(s.Address), p.admin(s.Admin), p.num(int64(s.Weight)),
			p.health(s.Agreed), p.health(s.Own), p.views(s.Views), routed, p.num(tr.CurConns),
			p.unum(tr.Requests), p.errors(tr.Errors), p.cell(dashIfEmpty(s.LastCheck)))
	}
	t.write(w)
	printByNode(w, st, p)
}

// printCounterNodes says whose counters the tables sum.
func printCounterNodes(w io.Writer, st api.Status, p painter) {
	if len(st.CounterNodes) == 0 {
		return
	}
	fmt.Fprintf(w, "\ntraffic summed over %s", strings.Join(st.CounterNodes, ", "))
	names := make([]string, 0, len(st.MissingNodes))
	for n := range st.MissingNodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "; %s %s (%s)", p.c(red, "missing"), n, st.MissingNodes[n])
	}
	fmt.Fprintln(w)
}

// printByNode is the per-node traffic table (--per-node).
func printByNode(w io.Writer, st api.Status, p painter) {
	t := table{head: []string{"TRAFFIC BY NODE", "NODE", "CONNS", "TOTAL", "REQUESTS", "ERRORS"}}
	add := func(name string, by map[string]api.Traffic) {
		nodes := make([]string, 0, len(by))
		for n := range by {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			tr := by[n]
			t.add(p.cell(name), p.cell(n), p.num(tr.CurConns), p.unum(tr.TotalConns), p.unum(tr.Requests), p.errors(tr.Errors))
		}
	}
	for _, f := range st.Frontends {
		add(f.Name, f.ByNode)
	}
	for _, s := range st.Servers {
		add(s.Backend+"/"+s.Server, s.ByNode)
	}
	if len(t.rows) > 0 {
		t.write(w)
	}
}

func printVIPTable(w io.Writer, vips []api.VIPStatus, p painter) {
	if len(vips) == 0 {
		return
	}
	t := table{head: []string{"VIP", "ADDRESS", "HOLDER", "THIS NODE", "NODES (priority, state)"}}
	for _, v := range vips {
		parts := make([]string, 0, len(v.Nodes))
		for _, n := range v.Nodes {
			state := "ineligible"
			switch {
			case !n.Alive:
				state = "dead"
			case n.Holding:
				state = "holding"
			case n.Eligible:
				state = "eligible"
			}
			parts = append(parts, fmt.Sprintf("%s(%d,%s)", n.Name, n.Priority, state))
		}
		holder := p.colored(red, "-")
		if v.Holder != "" {
			holder = p.colored(green, v.Holder)
		}
		state := p.cell(v.State)
		if v.State == "fault" {
			state = p.colored(red, v.State)
		}
		t.add(p.cell(v.Name), p.cell(v.Address), holder, state, p.cell(strings.Join(parts, "  ")))
	}
	t.write(w)
}

func sortedDeploys(m map[string]api.DeployRecord) []api.DeployRecord {
	var out []api.DeployRecord
	for _, d := range m {
		if !d.Done {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Backend < out[j].Backend })
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func versionText(v uint64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatUint(v, 10)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// views renders each node's report compactly: "lb1=up,lb2=down".
func views(v map[string]config.Health) string {
	if len(v) == 0 {
		return "-"
	}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + v[n].String()
	}
	return strings.Join(parts, ",")
}

// cell is one table cell: its text and, when colouring, the text with
// escape codes. Widths are computed on the text alone.
type cell struct{ text, shown string }

// table aligns columns on visible width, so coloured cells line up.
type table struct {
	head []string
	rows [][]cell
}

func (t *table) add(cells ...cell) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	widths := make([]int, len(t.head))
	for i, h := range t.head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	var b strings.Builder
	b.WriteString("\n")
	line := func(cells []cell) {
		for i, c := range cells {
			b.WriteString(c.shown)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		b.WriteString("\n")
	}
	head := make([]cell, len(t.head))
	for i, h := range t.head {
		head[i] = cell{h, h}
	}
	line(head)
	for _, r := range t.rows {
		line(r)
	}
	io.WriteString(w, b.String())
}

// ANSI SGR codes.
const (
	bold   = "1"
	red    = "31"
	green  = "32"
	yellow = "33"
	grey   = "90"
)

// painter makes cells, coloured when on is true.
type painter bool

// c returns s coloured (as a string, for free text).
func (p painter) c(code, s string) string {
	if !p {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) cell(s string) cell { return cell{s, s} }

func (p painter) colored(code, s string) cell { return cell{s, p.c(code, s)} }

func (p painter) num(n int64) cell   { return p.cell(strconv.FormatInt(n, 10)) }
func (p painter) unum(n uint64) cell { return p.cell(strconv.FormatUint(n, 10)) }

func (p painter) errors(n uint64) cell {
	if n == 0 {
		return p.unum(n)
	}
	return p.colored(red, strconv.FormatUint(n, 10))
}

func (p painter) health(h config.Health) cell {
	switch h {
	case config.HealthUp:
		return p.colored(green, h.String())
	case config.HealthDown:
		return p.colored(red, h.String())
	case config.HealthNoLB:
		return p.colored(yellow, h.String())
	}
	return p.colored(grey, h.String())
}

func (p painter) admin(a config.AdminState) cell {
	switch a {
	case config.AdminReady:
		return p.colored(green, a.String())
	case config.AdminDrain:
		return p.colored(yellow, a.String())
	}
	return p.colored(grey, a.String())
}

func (p painter) memberStatus(s string) cell {
	switch s {
	case "alive":
		return p.colored(green, s)
	case "suspect":
		return p.colored(yellow, s)
	}
	return p.colored(red, s)
}

func (p painter) leader(l bool) cell {
	if l {
		return p.colored(bold, "leader")
	}
	return p.cell("-")
}

// views colours each node's report: "lb1=up,lb2=down".
func (p painter) views(v map[string]config.Health) cell {
	text := views(v)
	if !p || len(v) == 0 {
		return p.cell(text)
	}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + p.health(v[n]).shown
	}
	return cell{text, strings.Join(parts, ",")}
}

// expiryText says how long a certificate has left, or since when it has
// expired, in days and hours.
func expiryText(left time.Duration) string {
	verb := "expires in %dd %dh"
	if left < 0 {
		verb, left = "expired %dd %dh ago", -left
	}
	return fmt.Sprintf(verb, int(left/(24*time.Hour)), int(left%(24*time.Hour)/time.Hour))
}

package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Crash detection. memberlist declares a silent peer dead after ~0.4 s of
// failed probes: it cannot tell a dead process from a frozen one or a lost
// link, so it waits. But most hard deaths leave the host's kernel alive
// (a crash, the OOM killer, SIGKILL), and that kernel closes the dead
// process's sockets at once, while a frozen process keeps them open and a
// broken link closes nothing.
//
// So every node keeps one long-lived connection to every peer's Raft port
// (kind connLive) that carries nothing after a hello, and watches it:
//
//   - the peer's kernel closing it (EOF or RST) without a goodbye byte
//     (liveBye, sent by a graceful stop before anything else) is a crash
//     signal, confirmed at once by a TCP connect to the peer's gossip port:
//     refused means the host answers and nothing listens there — the
//     process is gone — and the member shows dead in Members at once;
//   - a connect that succeeds (the process lives, or already restarted) or
//     times out (a network problem) confirms nothing: memberlist's probes
//     decide, as without this;
//   - the mark holds until memberlist agrees (dead or left), the member's
//     gossip meta comes from a new run (a restart: its meta no longer
//     claims what the crashed run held), or the same run says hello again
//     (the signal was false).
//
// While it holds, the member is dead to everything that reads the gossip
// view (Members, the VIP election, quorum messages, Remove); Raft itself
// never reads it.
const (
	connLive byte = 0x04
	liveBye  byte = 'B'

	liveDialTimeout  = time.Second
	liveHelloTimeout = 2 * time.Second
	liveRetryMin     = 100 * time.Millisecond
	liveRetryMax     = 2 * time.Second
	liveScanInterval = 100 * time.Millisecond
	maxLiveConns     = 256

	// confirmTimeout bounds one confirming connect: on a LAN a refusal
	// comes back in well under a millisecond.
	confirmTimeout = 50 * time.Millisecond
	// A dying process's sockets do not all close at once: its kernel
	// closes them one by one, and closing a packet socket waits for an
	// RCU grace period (~10 ms each; the VIP manager has some). So a
	// connect that succeeds is tried again every confirmSpacing, for at
	// most confirmWindow: a listener still open after that belongs to a
	// live (or restarted) process.
	confirmWindow  = 200 * time.Millisecond
	confirmSpacing = 2 * time.Millisecond
)

// liveHello is what each side of a liveness connection sends first.
type liveHello struct {
	Node string `json:"n"`
	Run  string `json:"r"` // the sender's run (newRunID), new at each start
}

// newRunID names one run of a node's gossip and Raft stack.
func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// liveness owns the liveness connections of one run: those this node
// accepted (serve) and those it dials to every peer (run).
type liveness struct {
	self   liveHello
	mux    *mux
	gossip *gossip
	logger *slog.Logger

	mu       sync.Mutex
	accepted map[net.Conn]bool
	leaving  bool // the goodbye was said: say it to every new connection too
	closed   bool
}

func newLiveness(self liveHello, m *mux, g *gossip, logger *slog.Logger) *liveness {
	return &liveness{self: self, mux: m, gossip: g, logger: logger.With("component", "liveness"), accepted: map[net.Conn]bool{}}
}

// serve answers a peer's liveness connection (the mux calls it after the
// kind byte) and holds it open until the peer closes it or close.
func (l *liveness) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(liveHelloTimeout))
	var peer liveHello
	if err := readFrame(conn, &peer); err != nil {
		return
	}
	if err := writeFrame(conn, l.self); err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	l.mu.Lock()
	if l.closed || len(l.accepted) >= maxLiveConns {
		l.mu.Unlock()
		return
	}
	l.accepted[conn] = true
	leaving := l.leaving
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.accepted, conn)
		l.mu.Unlock()
	}()
	if leaving {
		sayBye(conn)
	}
	var buf [64]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// bye tells every peer watching this node that it stops on purpose: the
// connections that close next are no crash.
func (l *liveness) bye() {
	l.mu.Lock()
	l.leaving = true
	conns := make([]net.Conn, 0, len(l.accepted))
	for c := range l.accepted {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		sayBye(c)
	}
}

func sayBye(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = c.Write([]byte{liveBye})
	c.SetWriteDeadline(time.Time{})
}

// close closes every accepted connection (before the mux waits for its
// connection goroutines) and refuses new ones.
func (l *liveness) close() {
	l.mu.Lock()
	l.closed = true
	for c := range l.accepted {
		c.Close()
	}
	l.mu.Unlock()
}

// peer is a member to watch, with where to reach it.
type livePeer struct {
	name       string
	raftAddr   string
	gossipAddr string
}

// run keeps one watcher per peer that gossips a run (a node that speaks
// this protocol) and that memberlist holds alive, until ctx ends.
func (l *liveness) run(ctx context.Context) {
	type watcher struct {
		peer   livePeer
		cancel context.CancelFunc
	}
	var wg sync.WaitGroup
	watchers := map[string]watcher{}
	defer func() {
		for _, w := range watchers {
			w.cancel()
		}
		wg.Wait()
	}()
	t := time.NewTicker(liveScanInterval)
	defer t.Stop()
	for {
		want := map[string]livePeer{}
		for _, m := range l.gossip.memberlistView() { // crashed members too: a hello may prove them alive
			if m.name == l.self.Node || m.status != StatusAlive || m.meta.Run == "" || m.meta.RaftPort == 0 {
				continue
			}
			want[m.name] = livePeer{
				name: m.name, raftAddr: m.raftAddr(),
				gossipAddr: net.JoinHostPort(m.addr.String(), strconv.Itoa(int(m.port))),
			}
		}
		for name, w := range watchers {
			if p, ok := want[name]; !ok || p != w.peer {
				w.cancel()
				delete(watchers, name)
			}
		}
		for name, p := range want {
			if _, ok := watchers[name]; ok {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			watchers[name] = watcher{peer: p, cancel: cancel}
			wg.Go(func() { l.watch(wctx, p) })
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watch keeps a liveness connection to p open, dialling again with
// backoff whenever it ends, until ctx ends.
func (l *liveness) watch(ctx context.Context, p livePeer) {
	backoff := liveRetryMin
	for ctx.Err() == nil {
		if l.watchOnce(ctx, p) {
			backoff = liveRetryMin
		} else {
			backoff = min(2*backoff, liveRetryMax)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// watchOnce dials p, exchanges hellos and reads until the connection
// ends; a close without a goodbye is confirmed (confirmCrash) and, when
// confirmed, marks p crashed. It reports whether the hellos went through.
func (l *liveness) watchOnce(ctx context.Context, p livePeer) bool {
	conn, err := l.mux.dial(p.raftAddr, connLive, liveDialTimeout)
	if err != nil {
		return false
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(liveHelloTimeout))
	var peer liveHello
	if err := writeFrame(conn, l.self); err != nil {
		return false
	}
	if err := readFrame(conn, &peer); err != nil {
		return false
	}
	if peer.Node != p.name {
		l.logger.Warn("liveness connection answered by another node", "want", p.name, "got", peer.Node, "addr", p.raftAddr)
		return false
	}
	conn.SetDeadline(time.Time{})
	l.gossip.helloFrom(peer.Node, peer.Run)
	bye := false
	var buf [64]byte
	for {
		n, err := conn.Read(buf[:])
		bye = bye || bytes.IndexByte(buf[:n], liveBye) >= 0
		if err != nil {
			break
		}
	}
	if ctx.Err() != nil || bye {
		return true
	}
	start := time.Now()
	crashed, why := confirmCrash(p.gossipAddr)
	took := time.Since(start)
	if !crashed {
		l.logger.Info("liveness connection closed without a goodbye, crash not confirmed: leaving it to gossip's probes",
			"member", p.name, "confirm", why, "took", took.String())
		return true
	}
	if l.gossip.markCrashed(p.name, peer.Run) {
		l.logger.Warn("member crashed: its kernel closed the liveness connection without a goodbye and refuses its gossip port; dead at once",
			"member", p.name, "run", peer.Run, "confirm", why, "took", took.String())
	}
	return true
}

// confirmCrash connects to a peer's gossip port (TCP): refused means its
// host's kernel answers and no process listens — the process is dead (a
// reset during the handshake, a listener closing, is tried again). A
// timeout or an unreachable host is a network problem, and a connection
// that stays accepted a live (or already restarted) process: neither
// confirms a crash.
func confirmCrash(gossipAddr string) (bool, string) {
	d := net.Dialer{Timeout: confirmTimeout}
	deadline := time.Now().Add(confirmWindow)
	for tries := 1; ; tries++ {
		c, err := d.Dial("tcp", gossipAddr)
		switch {
		case err == nil:
			c.Close()
			if time.Now().After(deadline) {
				return false, fmt.Sprintf("gossip port still accepts connections after %s (%d connects)", confirmWindow, tries)
			}
			time.Sleep(confirmSpacing)
		case errors.Is(err, syscall.ECONNREFUSED):
			return true, fmt.Sprintf("gossip port refused (connect %d)", tries)
		case errors.Is(err, syscall.ECONNRESET) && time.Now().Before(deadline):
			// The handshake reached a listener as it closed: try again.
			time.Sleep(confirmSpacing)
		default:
			return false, fmt.Sprintf("gossip port: %v", err)
		}
	}
}

package accesslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueLen is how many framed lines a Writer holds before it drops
// (each slot takes up to the target's len, 1 KiB by default, once used).
const DefaultQueueLen = 2048

// WriterConfig is one target and what its headers carry.
type WriterConfig struct {
	Target Target
	// Tag and PID are the header's program name and process ID ("tandem",
	// os.Getpid()); Hostname is sent by rfc3164 and rfc5424 ("": none, as
	// without HAProxy's log-send-hostname).
	Tag      string
	PID      int
	Hostname string
	// QueueLen bounds the lines waiting to be sent (0: DefaultQueueLen).
	QueueLen int
	// RetryEvery is how long an unreachable target is left alone before
	// the next attempt to open it (0: 1s).
	RetryEvery time.Duration
}

// WriterDeps are a Writer's collaborators.
type WriterDeps struct {
	Logger *slog.Logger
	// Stdout and Stderr receive the stdout and stderr targets (nil: the
	// process's own).
	Stdout, Stderr io.Writer
}

// Stats are a Writer's counters since it was made.
type Stats struct {
	Sent uint64 // lines written to the target
	// Dropped lines found the queue full: the target is slower than the
	// traffic, blocked or unreachable.
	Dropped uint64
	// Failed lines were taken from the queue but could not be written
	// (the target refused them or could not be opened).
	Failed uint64
}

// Writer sends framed lines to one Target from a bounded queue. Log may be
// called from any goroutine and never blocks; Run does the I/O.
type Writer struct {
	cfg  WriterConfig
	log  *slog.Logger
	out  io.Writer // stdout/stderr targets
	wake chan struct{}

	mu    sync.Mutex
	slots [][]byte // ring of framed lines
	head  int
	n     int

	slotCap int // a framed line's longest length: len plus the line feed

	sent, dropped, failed atomic.Uint64
}

// NewWriter returns a Writer for cfg; Run opens the target.
func NewWriter(cfg WriterConfig, d WriterDeps) (*Writer, error) {
	t := cfg.Target
	if t.MaxLen != 0 && (t.MaxLen < 80 || t.MaxLen > 65535) {
		return nil, fmt.Errorf("log target %s: len %d is out of range (80 to 65535)", t, t.MaxLen)
	}
	if (t.Network == NetUDP || t.Network == NetUnixgram) && t.Addr == "" {
		return nil, fmt.Errorf("log target %s: no address", t)
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = time.Second
	}
	w := &Writer{cfg: cfg, log: d.Logger, wake: make(chan struct{}, 1), slots: make([][]byte, cfg.QueueLen)}
	w.slotCap = t.MaxLen + 1
	if t.MaxLen == 0 {
		w.slotCap = DefaultMaxLen + 1
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	switch t.Network {
	case NetStdout:
		w.out = d.Stdout
		if w.out == nil {
			w.out = os.Stdout
		}
	case NetStderr:
		w.out = d.Stderr
		if w.out == nil {
			w.out = os.Stderr
		}
	}
	return w, nil
}

// Target is what the Writer sends to.
func (w *Writer) Target() Target { return w.cfg.Target }

// Stats returns the Writer's counters.
func (w *Writer) Stats() Stats {
	return Stats{Sent: w.sent.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load()}
}

// Log frames msg at level (with sd, RFC 5424's structured data) and queues
// it; it reports false when the line was filtered out by the target's
// level or dropped because the queue is full. It never blocks on I/O.
func (w *Writer) Log(level Level, now time.Time, msg, sd []byte) bool {
	t := &w.cfg.Target
	if level > t.MaxLevel {
		return false
	}
	level = max(level, t.MinLevel)
	h := Header{Format: t.Format, Facility: t.Facility, Level: level, Time: now,
		Hostname: w.cfg.Hostname, Tag: w.cfg.Tag, PID: w.cfg.PID, SD: sd}
	w.mu.Lock()
	if w.n == len(w.slots) {
		w.mu.Unlock()
		w.dropped.Add(1)
		return false
	}
	i := (w.head + w.n) % len(w.slots)
	if w.slots[i] == nil {
		w.slots[i] = make([]byte, 0, w.slotCap) // once per slot: lines never grow it
	}
	w.slots[i] = AppendFrame(w.slots[i][:0], &h, msg, t.MaxLen)
	w.n++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// take moves the oldest queued line into buf, swapping buffers so that no
// copy is made under the lock.
func (w *Writer) take(buf []byte) ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return buf, false
	}
	line := w.slots[w.head]
	w.slots[w.head] = buf[:0]
	w.head = (w.head + 1) % len(w.slots)
	w.n--
	return line, true
}

// drainTimeout bounds how long Run keeps sending what is queued once ctx
// is cancelled.
const drainTimeout = time.Second

// Run sends queued lines until ctx is cancelled, then sends what is left
// (for at most a second) and closes the target. It returns nil.
func (w *Writer) Run(ctx context.Context) error {
	s := sender{w: w}
	defer s.close()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			deadline := time.Now().Add(drainTimeout)
			for time.Now().Before(deadline) {
				var ok bool
				if buf, ok = w.take(buf); !ok {
					return nil
				}
				s.send(buf, deadline)
			}
			return nil
		case <-w.wake:
		}
		for {
			var ok bool
			if buf, ok = w.take(buf); !ok {
				break
			}
			s.send(buf, time.Now().Add(5*time.Second))
		}
	}
}

// sender owns the target's socket in Run's goroutine.
type sender struct {
	w         *Writer
	conn      net.Conn
	nextDial  time.Time
	lastError string
}

func (s *sender) send(line []byte, deadline time.Time) {
	w := s.w
	if w.out != nil {
		if _, err := w.out.Write(line); err != nil {
			s.fail(err)
			return
		}
		w.sent.Add(1)
		return
	}
	if s.conn == nil && !s.dial() {
		w.failed.Add(1)
		return
	}
	s.conn.SetWriteDeadline(deadline)
	if _, err := s.conn.Write(line); err != nil {
		s.fail(err)
		if w.cfg.Target.Network == NetUnixgram && !isTimeout(err) {
			s.conn.Close() // the syslog daemon restarted: reopen its socket
			s.conn = nil
		}
		return
	}
	w.sent.Add(1)
	s.lastError = ""
}

func (s *sender) dial() bool {
	now := time.Now()
	if now.Before(s.nextDial) {
		return false
	}
	t := s.w.cfg.Target
	network := "udp"
	if t.Network == NetUnixgram {
		network = "unixgram"
	}
	c, err := net.DialTimeout(network, t.Addr, 2*time.Second)
	if err != nil {
		s.nextDial = now.Add(s.w.cfg.RetryEvery)
		s.report(fmt.Errorf("open log target %s: %w", t, err))
		return false
	}
	if s.lastError != "" {
		s.w.log.Info("log target reachable again", "target", t.String())
	}
	s.conn, s.lastError = c, ""
	return true
}

func (s *sender) fail(err error) {
	s.w.failed.Add(1)
	s.report(fmt.Errorf("write to log target %s: %w", s.w.cfg.Target, err))
}

// report logs a failure once until the target works again (a dead syslog
// server must not flood tandem's own log).
func (s *sender) report(err error) {
	if msg := err.Error(); msg != s.lastError {
		s.lastError = msg
		s.w.log.Warn("log target unreachable: lines are dropped and counted", "target", s.w.cfg.Target.String(), "err", err)
	}
}

func (s *sender) close() {
	if s.conn != nil {
		s.conn.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

package accesslog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runWriter runs w until the test ends.
func runWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readDatagram(t *testing.T, c net.PacketConn) string {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read datagram: %v", err)
	}
	return string(buf[:n])
}

func TestWriterSendsUDP(t *testing.T) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w, err := NewWriter(WriterConfig{Target: Target{Network: NetUDP, Addr: srv.LocalAddr().String(), Format: FormatRFC3164,
		Facility: 16, MaxLevel: LevelDebug}, Tag: "tandem", PID: 99, Hostname: "lb1"}, WriterDeps{})
	if err != nil {
		t.Fatal(err)
	}
	runWriter(t, w)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	if !w.Log(LevelInfo, at, []byte("hello"), nil) {
		t.Fatal("Log refused a line")
	}
	if got, want := readDatagram(t, srv), "<134>Jan  2 03:04:05 lb1 tandem[99]: hello\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	waitFor(t, "sent=1", func() bool { return w.Stats().Sent == 1 })
}

func TestWriterSendsToUnixDatagramSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	srv, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetUnixgram, Addr: path, Format: FormatShort, MaxLevel: LevelDebug}}, WriterDeps{})
	runWriter(t, w)
	w.Log(LevelErr, time.Now(), []byte("boom"), nil)
	if got := readDatagram(t, srv); got != "<3>boom\n" {
		t.Fatalf("got %q", got)
	}
}

// TestWriterFiltersLevels: MaxLevel drops less severe lines, MinLevel caps
// more severe ones (section 4.2 "log ... <level> <minlevel>").
func TestWriterFiltersLevels(t *testing.T) {
	var out syncBuffer
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetStdout, Format: FormatShort, MaxLevel: LevelNotice, MinLevel: LevelErr}},
		WriterDeps{Stdout: &out})
	runWriter(t, w)
	if w.Log(LevelInfo, time.Now(), []byte("info"), nil) {
		t.Fatal("an info line passed max level notice")
	}
	w.Log(LevelEmerg, time.Now(), []byte("emerg"), nil)
	w.Log(LevelNotice, time.Now(), []byte("notice"), nil)
	waitFor(t, "two lines", func() bool { return strings.Count(out.String(), "\n") == 2 })
	if got := out.String(); got != "<3>emerg\n<5>notice\n" {
		t.Fatalf("got %q", got)
	}
}

// blockingWriter blocks every Write until released, and says when the
// first one started.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return len(p), nil
}

// TestBlockedTargetNeverBlocksLog: while the target blocks, Log returns
// at once for every line; what does not fit in the queue is dropped and
// counted. No timing is measured: Log simply must return while the
// writer is provably stuck in Write.
func TestBlockedTargetNeverBlocksLog(t *testing.T) {
	bw := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetStdout, Format: FormatRaw, MaxLevel: LevelDebug}, QueueLen: 16},
		WriterDeps{Stdout: bw})
	runWriter(t, w)
	t.Cleanup(func() { close(bw.release) })
	w.Log(LevelInfo, time.Now(), []byte("first"), nil)
	<-bw.entered // the writer is stuck in Write now
	queued := 0
	for i := 0; i < 1000; i++ {
		if w.Log(LevelInfo, time.Now(), []byte("line"), nil) {
			queued++
		}
	}
	st := w.Stats()
	if queued != 16 || st.Dropped != 1000-16 {
		t.Fatalf("queued %d, stats %+v; want 16 queued and %d dropped", queued, st, 1000-16)
	}
}

// TestUnreachableTargetIsReportedOnce: a unix socket that does not exist
// fails every line, counted, with one warning naming the target.
func TestUnreachableTargetIsReportedOnce(t *testing.T) {
	var logs syncBuffer
	path := filepath.Join(t.TempDir(), "missing.sock")
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetUnixgram, Addr: path, MaxLevel: LevelDebug}, RetryEvery: time.Hour},
		WriterDeps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	runWriter(t, w)
	for i := 0; i < 5; i++ {
		w.Log(LevelInfo, time.Now(), []byte("x"), nil)
	}
	waitFor(t, "5 failed lines", func() bool { return w.Stats().Failed == 5 })
	if n := strings.Count(logs.String(), "log target unreachable"); n != 1 || !strings.Contains(logs.String(), path) {
		t.Fatalf("want one warning naming %s, got:\n%s", path, logs.String())
	}
}

// TestRunSendsQueuedLinesOnStop: lines queued before the stop are sent.
func TestRunSendsQueuedLinesOnStop(t *testing.T) {
	var out syncBuffer
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetStdout, Format: FormatRaw, MaxLevel: LevelDebug}}, WriterDeps{Stdout: &out})
	for i := 0; i < 100; i++ {
		w.Log(LevelInfo, time.Now(), []byte("l"), nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "l\n"); n != 100 || w.Stats().Sent != 100 {
		t.Fatalf("sent %d lines (stats %+v), want 100", n, w.Stats())
	}
}

func TestNewWriterRefusesBadLen(t *testing.T) {
	if _, err := NewWriter(WriterConfig{Target: Target{Network: NetStdout, MaxLen: 79}}, WriterDeps{}); err == nil {
		t.Fatal("len 79 accepted")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

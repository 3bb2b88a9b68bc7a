package accesslog

import (
	"testing"
	"time"
)

// TestHTTPLogAllocatesNothing: formatting the default httplog line into a
// reused buffer, and queueing it, allocate nothing.
func TestHTTPLogAllocatesNothing(t *testing.T) {
	p := MustCompile(HTTPLog, twoCaptures)
	r := httpRecord()
	buf := p.Append(nil, r)
	if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0], r) }); n != 0 {
		t.Fatalf("Append: %v allocations per line, want 0", n)
	}
	w, _ := NewWriter(WriterConfig{Target: Target{Network: NetStdout, Format: FormatRFC5424, MaxLevel: LevelDebug}, QueueLen: 8}, WriterDeps{})
	for i := 0; i < 8; i++ { // fill the queue's buffers once
		w.Log(LevelInfo, time.Now(), buf, nil)
	}
	now := time.Now()
	spare := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() {
		spare, _ = w.take(spare) // as Run does: the sent line's buffer goes back
		w.Log(LevelInfo, now, buf, nil)
	}); n != 0 {
		t.Fatalf("Log: %v allocations per line, want 0", n)
	}
}

func BenchmarkHTTPLog(b *testing.B) {
	p := MustCompile(HTTPLog, twoCaptures)
	r := httpRecord()
	buf := p.Append(nil, r)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.Append(buf[:0], r)
	}
}

package balancer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tandem-lb/tandem/config"
)

// accessLog is what one frontend of a snapshot logs to: tandem's own
// access_log file (text or JSON), HAProxy's syslog traffic log
// (accesslog_syslog.go), or both. nil in the frontend: it logs nothing.
type accessLog struct {
	file *logFile // nil: no access_log
	json bool
	sys  *feSyslog // nil: no log targets
}

// accessLogBufSize is the write buffer of one access-log destination; it
// is flushed when full and by maintain every second.
const accessLogBufSize = 64 << 10

// logFile is one access_log destination, a file or Deps.AccessLog,
// shared by every frontend that names it. Lines are formatted outside the
// lock; the lock only covers copying a finished line into the buffer.
type logFile struct {
	path string // "" for Deps.AccessLog

	mu     sync.Mutex
	w      *bufio.Writer
	f      *os.File // nil for Deps.AccessLog (not closed by the balancer)
	closed bool
	werr   error // first write error, reported once by flush
}

func newLogFile(path string, out io.Writer) (*logFile, error) {
	l := &logFile{path: path}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		l.f, out = f, f
	}
	l.w = bufio.NewWriterSize(out, accessLogBufSize)
	return l, nil
}

func (l *logFile) write(line []byte) {
	l.mu.Lock()
	if !l.closed {
		if _, err := l.w.Write(line); err != nil && l.werr == nil {
			l.werr = err
		}
	}
	l.mu.Unlock()
}

// flush writes out the buffer; it returns the first write error since the
// last flush.
func (l *logFile) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	err := l.w.Flush()
	if l.werr != nil {
		err, l.werr = l.werr, nil
	}
	return err
}

// close flushes and closes the file; later writes are dropped (a request
// still in flight on a retired config).
func (l *logFile) close() error {
	err := l.flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f != nil {
		err = errors.Join(err, l.f.Close())
	}
	return err
}

// logPlan is what a config being applied logs to: files and syslog
// writers, open or to be opened, and each frontend's accessLog.
type logPlan struct {
	files map[string]*logFile
	fes   map[string]*accessLog
	sys   *syslogPlan
}

// frontend returns what frontend name logs to (nil: nothing), and whether
// its access_log is JSON.
func (p *logPlan) frontend(name string) (*accessLog, bool) {
	al := p.fes[name]
	if al == nil {
		return nil, false
	}
	return al, al.json
}

// openAccessLogs prepares the destinations the frontends of c need,
// reusing the open ones (b.mu held). On error, what it opened is closed
// again.
func (b *Balancer) openAccessLogs(c *config.Cluster) (*logPlan, error) {
	p := &logPlan{files: map[string]*logFile{}, fes: map[string]*accessLog{}}
	var fresh []*logFile
	undo := func() {
		for _, f := range fresh {
			f.close()
		}
	}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		al := f.AccessLog
		if al == nil {
			continue
		}
		l := p.files[al.Path]
		if l == nil {
			l = b.alogs[al.Path]
		}
		if l == nil {
			var err error
			if l, err = newLogFile(al.Path, b.alogOut); err != nil {
				undo()
				return nil, fmt.Errorf("apply frontend %s: open access log: %w", f.Name, err)
			}
			fresh = append(fresh, l)
		}
		p.files[al.Path] = l
		p.fes[f.Name] = &accessLog{file: l, json: al.Format == "json"}
	}
	sys, err := b.syslogs.plan(c, b.log, b.alogOut)
	if err != nil {
		undo()
		return nil, err
	}
	p.sys = sys
	for name, fs := range sys.fes {
		if p.fes[name] == nil {
			p.fes[name] = &accessLog{}
		}
		p.fes[name].sys = fs
	}
	return p, nil
}

// useAccessLogs makes p the open set (b.mu held), closing the files and
// stopping the writers it no longer has.
func (b *Balancer) useAccessLogs(p *logPlan) {
	for path, l := range b.alogs {
		if p.files[path] != l {
			if err := l.close(); err != nil {
				b.log.Warn("close access log", "path", path, "err", err)
			}
		}
	}
	b.alogs = p.files
	b.syslogs.use(p.sys, b.runCtx)
}

// flushAccessLogs writes out every buffered access-log line; closing, it
// also closes the files and stops the syslog writers once they have sent
// what they hold.
func (b *Balancer) flushAccessLogs(closing bool) {
	b.mu.Lock()
	logs := make([]*logFile, 0, len(b.alogs))
	for _, l := range b.alogs {
		logs = append(logs, l)
	}
	b.mu.Unlock()
	for _, l := range logs {
		var err error
		if closing {
			err = l.close()
		} else {
			err = l.flush()
		}
		if err != nil {
			b.log.Warn("write access log", "path", l.path, "err", err)
		}
	}
	if closing {
		b.mu.Lock()
		b.syslogs.stopAll()
		b.mu.Unlock()
		b.syslogs.wait()
	}
}

// accessEntry is one access-log line before formatting. Timers follow
// HAProxy: Tq (request head received), Tw (waiting for a server slot), Tc
// (connecting), Tr (server's response head), Tt (total); -1 when the
// request ended before that step.
type accessEntry struct {
	client                 netip.AddrPort
	start                  time.Time
	frontend, backend, srv string
	tq, tw, tc, tr, tt     time.Duration
	status                 int // 0: none (TCP mode, or no answer)
	bytesOut, bytesIn      int64
	term                   string // termination state, two characters
	retries                int
	method, uri, proto     []byte // nil in TCP mode
	json                   bool
}

// appendAccessLine appends the entry as one line: HAProxy-like text or a
// JSON object.
func appendAccessLine(b []byte, e *accessEntry) []byte {
	if e.json {
		return appendAccessJSON(b, e)
	}
	b = e.client.AppendTo(b)
	b = append(b, " ["...)
	b = appendLogDate(b, e.start)
	b = append(b, "] "...)
	b = append(b, e.frontend...)
	b = append(b, ' ')
	b = append(b, e.backend...)
	b = append(b, '/')
	b = append(b, e.srv...)
	b = append(b, ' ')
	for i, d := range [...]time.Duration{e.tq, e.tw, e.tc, e.tr, e.tt} {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendMillis(b, d)
	}
	b = append(b, ' ')
	if e.status == 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, int64(e.status), 10)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.bytesOut, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.bytesIn, 10)
	b = append(b, ' ')
	b = append(b, e.term...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.retries), 10)
	b = append(b, " \""...)
	if e.method == nil {
		b = append(b, '-')
	} else {
		b = appendEscaped(b, e.method)
		b = append(b, ' ')
		b = appendEscaped(b, e.uri)
		b = append(b, ' ')
		b = appendEscaped(b, e.proto)
	}
	return append(b, "\"\n"...)
}

// appendLogDate appends t as HAProxy's date, 02/Jan/2006:15:04:05.000 in
// local time, without time.Format's layout parsing (it is on every line).
func appendLogDate(b []byte, t time.Time) []byte {
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	b = appendPad(b, d, 2)
	b = append(b, '/')
	b = append(b, months[3*(mo-1):3*mo]...)
	b = append(b, '/')
	b = appendPad(b, y, 4)
	b = append(b, ':')
	b = appendPad(b, h, 2)
	b = append(b, ':')
	b = appendPad(b, mi, 2)
	b = append(b, ':')
	b = appendPad(b, sec, 2)
	b = append(b, '.')
	return appendPad(b, t.Nanosecond()/1e6, 3)
}

// appendPad appends n (≥ 0) zero-padded to width digits.
func appendPad(b []byte, n, width int) []byte {
	var d [8]byte
	i := len(d)
	for n > 0 || width > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(b, d[i:]...)
}

// appendMillis appends d in whole milliseconds, or -1 for a step never
// reached.
func appendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, "-1"...)
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

// appendEscaped writes bytes of the request line as they are, except
// quotes, '#', control and non-ASCII bytes, written as #XX (HAProxy's
// escaping), so a line is always one line and splits on its quotes.
func appendEscaped(b, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '#' {
			b = append(b, '#', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendAccessJSON(b []byte, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = e.start.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","client":"`...)
	b = e.client.AppendTo(b)
	b = append(b, `","frontend":`...)
	b = appendJSONString(b, []byte(e.frontend))
	b = append(b, `,"backend":`...)
	b = appendJSONString(b, []byte(e.backend))
	b = append(b, `,"server":`...)
	b = appendJSONString(b, []byte(e.srv))
	for i, d := range [...]time.Duration{e.tq, e.tw, e.tc, e.tr, e.tt} {
		b = append(b, `,"`...)
		b = append(b, "tq_mstw_mstc_mstr_mstt_ms"[i*5:i*5+5]...)
		b = append(b, `":`...)
		b = appendMillis(b, d)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, e.bytesOut, 10)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, e.bytesIn, 10)
	b = append(b, `,"termination":"`...)
	b = append(b, e.term...)
	b = append(b, `","retries":`...)
	b = strconv.AppendInt(b, int64(e.retries), 10)
	if e.method != nil {
		b = append(b, `,"method":`...)
		b = appendJSONString(b, e.method)
		b = append(b, `,"uri":`...)
		b = appendJSONString(b, e.uri)
		b = append(b, `,"proto":`...)
		b = appendJSONString(b, e.proto)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		c := s[0]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[:n]...)
		}
		s = s[n:]
	}
	return append(b, '"')
}

// closeUnusedAccessLogs closes what openAccessLogs opened for a config
// that was then refused (b.mu held). Syslog writers of a refused plan
// were never started: there is nothing to stop.
func (b *Balancer) closeUnusedAccessLogs(p *logPlan) {
	for path, l := range p.files {
		if b.alogs[path] != l {
			l.close()
		}
	}
}

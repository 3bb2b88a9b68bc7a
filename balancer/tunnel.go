package balancer

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// tunnelUpgrade finishes a 101 Switching Protocols exchange: it forwards
// the response head, then copies bytes both ways until both sides are
// done, with timeout tunnel as inactivity timeout.
func (b *Balancer) tunnelUpgrade(ex *exchange, tc *timedConn, br *bufio.Reader) {
	r, u, w := ex.resp, ex.uc, ex.bw
	writeStatusLine(w, r.Status, r.Reason) // 101
	for _, f := range r.Fields {
		if !r.HopByHop(f.Name) {
			writeField(w, f.Name, f.Value)
		}
	}
	w.WriteString("Connection: Upgrade\r\nUpgrade: ")
	w.Write(r.Upgrade)
	w.WriteString("\r\n\r\n")
	// Bytes already buffered on either side go first.
	if n := u.br.Buffered(); n > 0 {
		p, _ := u.br.Peek(n)
		w.Write(p)
	}
	err := w.Flush()
	if n := br.Buffered(); n > 0 && err == nil {
		p, _ := br.Peek(n)
		_, err = u.tc.Conn.Write(p)
	}
	if err == nil {
		tc.readDeadline(time.Time{})
		tc.writeTimeout(0)
		u.tc.readTimeout(0)
		u.tc.writeTimeout(0)
		in, out, terr := tunnel(ex.cc.conn, u.tc.Conn, ex.be.tm.tunnel)
		ex.fe.rt.stats.bytesIn.Add(uint64(in))
		ex.fe.rt.stats.bytesOut.Add(uint64(out))
		ex.src.n += in
		ex.outBytes = out
		ex.term = tunnelTerm(terr)
	} else {
		ex.term = "CD"
	}
	b.finishUpstream(ex, false, nil, true)
}

// tunnel copies client→server and server→client until both directions
// ended (each end is half-closed as its source ends), or until neither
// direction moved for idle (0: no timeout), or an error. It closes neither
// connection on success; on error or timeout it closes both.
func tunnel(client, server net.Conn, idle time.Duration) (in, out int64, err error) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan error, 1)
	go func() {
		var e error
		in, e = copyDir(server, client, idle, &last)
		if e != nil {
			client.Close()
			server.Close()
		}
		done <- e
	}()
	out, err = copyDir(client, server, idle, &last)
	if err != nil {
		client.Close()
		server.Close()
	}
	if e := <-done; err == nil {
		err = e
	}
	return in, out, err
}

// copyDir copies src to dst. Between *net.TCPConn the copy is a splice in
// the kernel. Inactivity is checked in windows of idle: a window in which
// neither direction moved ends the tunnel.
func copyDir(dst, src net.Conn, idle time.Duration, last *atomic.Int64) (int64, error) {
	var total int64
	for {
		if idle > 0 {
			d := time.Now().Add(idle)
			src.SetReadDeadline(d)
			dst.SetWriteDeadline(d)
		}
		n, err := io.Copy(dst, src)
		total += n
		now := time.Now().UnixNano()
		if n > 0 {
			last.Store(now)
		}
		if err == nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return total, nil
		}
		if idle > 0 && isTimeout(err) && (n > 0 || now-last.Load() < int64(idle)) {
			continue
		}
		return total, err
	}
}

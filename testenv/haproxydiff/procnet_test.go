package haproxydiff

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openConns counts the accepted TCP connections on local port port that
// their owner has not closed yet (ESTABLISHED, or CLOSE_WAIT: the client
// left, the server has not noticed), from /proc/net/tcp and tcp6.
func openConns(port int) (int, error) {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 {
				continue
			}
			local, state := fields[1], fields[3]
			i := strings.LastIndexByte(local, ':')
			p, err := strconv.ParseUint(local[i+1:], 16, 16)
			if err != nil || int(p) != port {
				continue
			}
			if state == "01" || state == "08" {
				n++
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// waitClosed waits until the process listening on each address has
// closed every connection it accepted there: a connection the test (or
// the harness's readiness probe) closed still counts in HAProxy's %ac and
// %fc until HAProxy has seen its end.
func waitClosed(t *testing.T, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range addrs {
		_, ps, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(ps)
		for {
			n, err := openConns(port)
			if err != nil {
				t.Fatalf("reading /proc/net/tcp: %v", err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d connections to %s still open after 5s", n, a)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

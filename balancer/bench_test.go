package balancer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/tandem-lb/tandem/config"
)

// rawHTTPBackend is a minimal keep-alive HTTP/1.1 server (no net/http) so
// benchmarks measure the balancer, not the backend.
func rawHTTPBackend(tb testing.TB, body string) string {
	return rawHTTPBackendAt(tb, "127.0.0.1:0", body)
}

func rawHTTPBackendAt(tb testing.TB, addr, body string) string {
	tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// Read a head (requests in benchmarks have no body).
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// benchClient sends keep-alive GETs on one connection and checks answers.
type benchClient struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func newBenchClient(tb testing.TB, addr string) *benchClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &benchClient{conn: c, br: bufio.NewReader(c), req: []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")}
}

func (c *benchClient) do() error {
	if _, err := c.conn.Write(c.req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// BenchmarkHTTPKeepAlive: one keep-alive client connection per parallel
// goroutine through the balancer to two raw backends.
func BenchmarkHTTPKeepAlive(b *testing.B) {
	s1, s2 := rawHTTPBackend(b, "hello from server1\n"), rawHTTPBackend(b, "hello from server2\n")
	e := startBench(b, cluster(srv("s1", s1), srv("s2", s2)))
	addr := e.addr("fe")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newBenchClient(b, addr)
		for pb.Next() {
			if err := c.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHTTPDirect is the same load straight to a backend: the cost of
// the client and backend alone, to subtract from BenchmarkHTTPKeepAlive.
func BenchmarkHTTPDirect(b *testing.B) {
	s1 := rawHTTPBackend(b, "hello from server1\n")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newBenchClient(b, s1)
		for pb.Next() {
			if err := c.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTCPThroughput copies 1 MiB responses through a TCP-mode
// frontend (splice path); reports MB/s.
func BenchmarkTCPThroughput(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1<<20)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 1)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := c.Write(payload); err != nil {
						return
					}
				}
			}()
		}
	}()
	c := cluster(srv("s1", l.Addr().String()))
	c.Defaults.Mode = config.ModeTCP
	e := startBench(b, c)
	conn, err := net.Dial("tcp", e.addr("fe"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for range b.N {
		conn.Write([]byte{1})
		for got := 0; got < len(payload); {
			n, err := conn.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// Command idleconns opens N keep-alive client connections to an HTTP
// address, sends one request on each, reads the answer and then holds the
// connections open, idle, so bench/run.sh can read a proxy's memory per
// idle connection. It prints "ready open=N failed=M" on stdout once every
// connection has been tried, and holds them until SIGINT/SIGTERM or -hold.
//
//	go run ./bench/idleconns -addr 127.0.0.1:18080 -n 10000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "", "host:port of the HTTP listener (loopback), required")
	n := flag.Int("n", 10000, "connections to open")
	path := flag.String("path", "/", "path requested once on each connection")
	parallel := flag.Int("parallel", 100, "connections being opened at once")
	timeout := flag.Duration("timeout", 10*time.Second, "bound on opening one connection and reading its answer")
	hold := flag.Duration("hold", 2*time.Minute, "longest time to hold the connections before exiting")
	flag.Parse()
	if *addr == "" || *n <= 0 || *parallel <= 0 {
		fmt.Fprintln(os.Stderr, "idleconns: want -addr host:port, -n > 0 and -parallel > 0")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := opener{addr: *addr, path: *path, timeout: *timeout, errs: map[string]int{}}
	o.openAll(ctx, *n, *parallel)
	fmt.Printf("ready open=%d failed=%d\n", len(o.conns), *n-len(o.conns))
	o.printErrors(os.Stderr)

	holdCtx, cancel := context.WithTimeout(ctx, *hold)
	defer cancel()
	<-holdCtx.Done()
	for _, c := range o.conns {
		c.Close()
	}
}

type opener struct {
	addr, path string
	timeout    time.Duration

	mu    sync.Mutex
	conns []net.Conn
	errs  map[string]int
}

func (o *opener) openAll(ctx context.Context, n, parallel int) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := o.openOne()
			o.mu.Lock()
			defer o.mu.Unlock()
			if err != nil {
				o.errs[err.Error()]++
				return
			}
			o.conns = append(o.conns, c)
		})
	}
	wg.Wait()
}

// openOne dials, sends one keep-alive request, reads the whole answer and
// returns the connection, idle and open.
func (o *opener) openOne() (net.Conn, error) {
	c, err := net.DialTimeout("tcp", o.addr, o.timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(o.timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", o.path, o.addr); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("status %d", resp.StatusCode)
	case resp.Close:
		err = errors.New("server closed the connection after the answer")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func (o *opener) printErrors(w io.Writer) {
	texts := make([]string, 0, len(o.errs))
	for t := range o.errs {
		texts = append(texts, t)
	}
	sort.Strings(texts)
	for _, t := range texts {
		fmt.Fprintf(w, "idleconns: %d × %s\n", o.errs[t], t)
	}
}

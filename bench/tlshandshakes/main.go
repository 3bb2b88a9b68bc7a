// Command tlshandshakes measures TLS handshakes per second against one
// address, for bench/tls.sh: workers that each connect, complete a TLS
// 1.3 handshake and close, over and over, for a fixed time.
//
//	-mode full    every handshake is a full one (no session cache)
//	-mode resume  every handshake resumes the session of a ticket the
//	              first connection of the worker got (a GET / reads it)
//
// It prints one line: "handshakes=N seconds=S rate=R resumed=K errors=E".
// The certificate is not verified (the bench's are self-signed); the
// handshake signature still is, by crypto/tls. The key exchange is X25519.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18443", "TLS address to connect to")
	sni := flag.String("sni", "bench.example", "server name sent")
	mode := flag.String("mode", "full", "full or resume")
	workers := flag.Int("c", 8, "concurrent workers")
	dur := flag.Duration("d", 10*time.Second, "how long to run")
	flag.Parse()
	if *mode != "full" && *mode != "resume" {
		fmt.Fprintln(os.Stderr, "tlshandshakes: -mode is full or resume")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var done, resumed, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{addr: *addr, conf: &tls.Config{ServerName: *sni, InsecureSkipVerify: true,
				MinVersion: tls.VersionTLS13, NextProtos: []string{"http/1.1"},
				// X25519 alone: what OpenSSL 3.0 (HAProxy 2.6 on Debian 12)
				// and wrk use; Go would otherwise offer its hybrid
				// X25519MLKEM768 first and tandem would take it.
				CurvePreferences: []tls.CurveID{tls.X25519}}}
			if *mode == "resume" {
				w.conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
				if err := w.prime(); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
			for ctx.Err() == nil {
				res, err := w.handshake()
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				done.Add(1)
				if res {
					resumed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("handshakes=%d seconds=%.2f rate=%.1f resumed=%d errors=%d\n", done.Load(), secs, float64(done.Load())/secs, resumed.Load(), errs.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "tlshandshakes: first error: %v\n", e)
	}
}

type worker struct {
	addr string
	conf *tls.Config
}

// handshake connects, completes a handshake and closes; it tells whether
// the session resumed.
func (w worker) handshake() (bool, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", w.addr, w.conf)
	if err != nil {
		return false, err
	}
	r := c.ConnectionState().DidResume
	return r, c.Close()
}

// prime makes one connection with a request, so that the TLS 1.3 ticket
// the server sends after the handshake is read into the session cache.
func (w worker) prime() error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", w.addr, w.conf)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("prime %s: %w", w.addr, err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

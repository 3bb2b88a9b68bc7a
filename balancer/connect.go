package balancer

import (
	"context"
	"time"

	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// attempt is one request's (or TCP connection's) way to a server: the
// pick state, with the retries and redispatches taken so far. HTTP and
// TCP share it, so both retry and redispatch the same way.
type attempt struct {
	p       pickState
	tries   int // failed attempts counted against the backend's retries
	retries int // retries made (the access log's retries field)
	// now is the clock read just before the first pick (zero: read it
	// then); tPicked is when a server was picked, tConn when a
	// connection to it was ready: the time picked for a pooled one.
	now, tPicked, tConn time.Time
	// cc is the client the attempt serves (set once per connection or
	// exchange, kept by reset): a PROXY header names it.
	cc *clientConn
	// rs and rp evaluate a server's sni expression: the request's rules
	// state and its backend's rules (set per request; nil: no SNI).
	rs *rules.State
	rp *rules.Proxy
}

// reset prepares a for a new request to be, keeping the pick filter it
// has bound.
func (a *attempt) reset(be *backend, key uint64) {
	*a = attempt{p: pickState{okFn: a.p.okFn}, cc: a.cc, rs: a.rs, rp: a.rp}
	a.p.reset(be, key)
}

// serverTLS is the TLS a connection to s takes for this attempt, and the
// server name it sends.
func (a *attempt) serverTLS(s *server) (*serverTLS, string) {
	o := s.opts.Load()
	if o == nil || o.tls == nil {
		return nil, ""
	}
	st := o.tls
	if st.sni.expr == "" {
		return st, st.sni.fixed
	}
	if name, ok := a.rp.ServerSNI(a.rs, o.index); ok {
		return st, string(name)
	}
	return st, "" // no value: no SNI, as HAProxy
}

// connectServer picks a server of be and connects to it (a pooled
// connection first when pooled, unless fresh), retrying connect failures
// up to be.retries times, on another server once redispatch says so. On
// success the server's maxconn slot is held and the connection is open.
func (b *Balancer) connectServer(ctx context.Context, a *attempt, be *backend, pooled, fresh bool) (*server, *upConn, error) {
	for {
		s, err := b.pick(ctx, &a.p)
		if err != nil {
			return nil, nil, err
		}
		a.tPicked = a.now
		if a.tPicked.IsZero() || a.p.queued {
			a.tPicked = time.Now()
		}
		a.now = time.Time{} // a retry's pick reads the clock
		var u *upConn
		st, sni := a.serverTLS(s)
		h2 := be.mode == config.ModeHTTP && s.opts.Load().speaksH2()
		if pooled && !fresh {
			if h2 {
				if cc := s.h2.get(st, sni); cc != nil {
					a.tConn = a.tPicked
					return s, &upConn{srv: s, h2: cc, st: st, sni: sni, reused: true}, nil
				}
			} else {
				u = s.pool.get(st, sni, a.tPicked)
			}
		}
		a.tConn = a.tPicked
		if u == nil {
			u, err = b.dial(ctx, s, be.tm.connect, a.cc, sni)
			if err == nil && be.mode == config.ModeHTTP && (h2 || u.alpn == "h2") {
				u, err = b.startH2(s, u)
			}
			a.tConn = time.Now()
		}
		if err == nil {
			return s, u, nil
		}
		s.stats.connectErrors.Add(1)
		be.rt.stats.connectErrors.Add(1)
		b.connFailed(s, err)
		s.release()
		if !b.retry(a, be, s) {
			return s, nil, err
		}
	}
}

// retry counts a failed attempt on s and reports whether another one is
// allowed; with redispatch the next pick avoids s.
func (b *Balancer) retry(a *attempt, be *backend, s *server) bool {
	if a.tries >= be.retries {
		return false
	}
	a.tries++
	a.retries++
	s.stats.retries.Add(1)
	be.rt.stats.retries.Add(1)
	if be.redispatch {
		a.p.avoid(s)
		s.stats.redispatches.Add(1)
		be.rt.stats.redispatches.Add(1)
	}
	return true
}

// balanceKey returns the hash the policy uses: the client IP (source),
// or the request path without its query (uri, HTTP only: target may be
// nil).
func balanceKey(be *backend, cc *clientConn, target []byte) uint64 {
	switch be.algo {
	case config.AlgoSource:
		return cc.sourceHash()
	case config.AlgoURI:
		u := target
		for i, c := range u {
			if c == '?' {
				u = u[:i]
				break
			}
		}
		return hashKey(u)
	}
	return 0
}

// stickyServer returns the server a client IP is stuck to (stick on src),
// or nil.
func stickyServer(be *backend, cc *clientConn, now int64) *server {
	if !be.stickSource || !cc.remote.IsValid() {
		return nil
	}
	if name := be.rt.stick.lookup(cc.remote, now); name != "" {
		return be.byName[name]
	}
	return nil
}

// stick records the server a client IP reached, when the backend sticks
// on source and it was not already stuck there.
func stick(be *backend, cc *clientConn, a *attempt, s *server, now int64) {
	if be.stickSource && cc.remote.IsValid() && a.p.sticky != s {
		be.rt.stick.store(cc.remote, s.key.Server, now)
	}
}

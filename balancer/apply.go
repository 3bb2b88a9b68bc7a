package balancer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/balancer/rules"
	"github.com/tandem-lb/tandem/config"
)

// Apply swaps to d atomically. It binds new listeners first; if any cannot
// bind it returns an error naming frontend and address and nothing changes.
// Safe to call before Run and concurrently with traffic. Cheap when only
// Servers changed (same *config.Cluster pointer as last time): no listener
// work, and policies are rebuilt only for backends whose weights changed.
func (b *Balancer) Apply(d Desired) error {
	if d.Config == nil {
		return errors.New("apply balancer config: nil config")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return ErrStopped
	}
	prev := b.cur.Load()
	if d.Config == prev.cluster {
		if err := b.applyCertificates(prev, d.Certificates); err != nil {
			return err
		}
		b.applyServers(prev, d.Servers)
		return nil
	}
	return b.applyConfig(d)
}

// applyServers applies runtime server states to the current config.
func (b *Balancer) applyServers(prev *snapshot, states map[config.ServerKey]ServerState) {
	now := time.Now()
	changed := map[string]*backend{}
	for i := range prev.cluster.Backends {
		cb := &prev.cluster.Backends[i]
		be := prev.backends[cb.Name]
		weights := false
		for j := range cb.Servers {
			cs := &cb.Servers[j]
			s := be.byName[cs.Name]
			if b.setServerState(s, stateOf(states, s.key, cs), cfgWeight(cs), now, false) {
				weights = true
			}
		}
		if weights {
			changed[cb.Name] = be.rebuildPolicies()
		}
		be.rt.queue.wakeAll()
	}
	b.lastSrv = states
	if len(changed) == 0 {
		return
	}
	next := &snapshot{cluster: prev.cluster, frontends: map[string]*frontend{}, byAddr: map[string]*frontend{}, backends: map[string]*backend{},
		rules: prev.rules}
	for name, be := range prev.backends {
		if nb := changed[name]; nb != nil {
			be = nb
		}
		next.backends[name] = be
	}
	for _, be := range prev.beList {
		next.beList = append(next.beList, next.backends[be.name])
	}
	for name, fe := range prev.frontends {
		nf := *fe
		if fe.backend != nil {
			nf.backend = next.backends[fe.backend.name]
		}
		next.frontends[name] = &nf
		for _, l := range nf.listeners {
			next.byAddr[l.key] = &nf
		}
	}
	b.cur.Store(next)
}

// applyConfig applies a new cluster config: listeners first (all or
// nothing), then runtimes, then one snapshot store.
func (b *Balancer) applyConfig(d Desired) error {
	c := d.Config
	type feBind struct {
		keys  []string
		tls   *frontendTLS
		proxy *acceptProxy
	}
	binds := make([]feBind, len(c.Frontends))
	owner := map[string]string{}
	prog, err := rules.Compile(c)
	if err != nil {
		return fmt.Errorf("apply rules: %w", err)
	}
	stls, err := b.buildServerTLS(c, d.Certificates)
	if err != nil {
		return err
	}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		if f.DefaultBackend != "" && c.Backend(f.DefaultBackend) == nil {
			return fmt.Errorf("apply frontend %s: default backend %q does not exist", f.Name, f.DefaultBackend)
		}
		if len(f.Bind) == 0 {
			return fmt.Errorf("apply frontend %s: no bind address", f.Name)
		}
		for _, a := range f.Bind {
			key, err := bindKey(a)
			if err != nil {
				return fmt.Errorf("apply frontend %s: bind %q: %w", f.Name, a, err)
			}
			if o, dup := owner[key]; dup {
				return fmt.Errorf("apply frontend %s: bind %q: address already used by frontend %s", f.Name, a, o)
			}
			owner[key] = f.Name
			binds[i].keys = append(binds[i].keys, key)
		}
		if f.TLS != nil {
			ft, err := newFrontendTLS(f, c, certLoader(f.TLS, d.Certificates))
			if err != nil {
				return fmt.Errorf("apply frontend %s: TLS: %w", f.Name, err)
			}
			ft.answerALPN(b.acme)
			binds[i].tls = ft
		}
		ap, err := newAcceptProxy(f.AcceptProxy)
		if err != nil {
			return fmt.Errorf("apply frontend %s: accept_proxy: %w", f.Name, err)
		}
		binds[i].proxy = ap
	}

	logs, err := b.openAccessLogs(c)
	if err != nil {
		return err
	}
	// Bind what is new; undo on the first failure.
	var fresh []*listener
	for i := range c.Frontends {
		for j, key := range binds[i].keys {
			if b.listeners[key] != nil {
				continue
			}
			ln, err := listen(key)
			if err != nil {
				for _, l := range fresh {
					l.ln.Close()
				}
				b.closeUnusedAccessLogs(logs)
				return fmt.Errorf("apply frontend %s: bind %s: %w", c.Frontends[i].Name, c.Frontends[i].Bind[j], err)
			}
			fresh = append(fresh, newListener(key, ln))
		}
	}

	// Runtimes.
	now := time.Now()
	b.global.setMax(c.Global.MaxConn)
	keepSrv := map[serverID]bool{}
	keepBe := map[string]bool{}
	next := &snapshot{cluster: c, frontends: map[string]*frontend{}, byAddr: map[string]*frontend{}, backends: map[string]*backend{}, rules: prog}
	for i := range c.Backends {
		cb := &c.Backends[i]
		rt := b.backends[cb.Name]
		if rt == nil {
			rt = newBackendRT(cb.Name)
			b.backends[cb.Name] = rt
		}
		keepBe[cb.Name] = true
		for j := range cb.Servers {
			cs := &cb.Servers[j]
			id := serverID{config.ServerKey{Backend: cb.Name, Server: cs.Name}, cs.Address}
			s, existed := b.servers[id]
			if !existed {
				s = newServer(id, rt)
				b.servers[id] = s
			}
			keepSrv[id] = true
			s.maxConn.Store(int32(cs.MaxConn))
			s.slowStart.Store(int64(cs.SlowStart.D()))
			cookie := cs.Cookie
			s.cookie.Store(&cookie)
			o := b.serverOptsOf(id.key, cs)
			o.tls, o.index, o.proto = stls[id], j, cs.Proto
			if old := s.opts.Load(); old != nil && (old.tls != o.tls || old.proto != o.proto) {
				s.pool.closeAll() // made with another TLS setting or protocol
				s.h2.closeAll()
			}
			s.opts.Store(o)
			b.setServerState(s, stateOf(d.Servers, id.key, cs), cfgWeight(cs), now, !existed)
		}
		be := b.buildBackend(cb, rt)
		be.rules, be.index = prog.Backend(i), i
		next.backends[cb.Name] = be
		next.beList = append(next.beList, be)
		rt.stick.ttl.Store(int64(be.stickExpire))
	}
	for _, l := range fresh {
		b.listeners[l.key] = l
	}
	keepFe := map[string]bool{}
	for i := range c.Frontends {
		f := &c.Frontends[i]
		rt := b.frontends[f.Name]
		if rt == nil {
			rt = &frontendRT{name: f.Name, lim: newLimiter(f.MaxConn)}
			b.frontends[f.Name] = rt
		}
		rt.lim.setMax(f.MaxConn)
		keepFe[f.Name] = true
		fe := &frontend{
			name: f.Name, mode: f.Mode, tm: timeoutsOf(f.Timeouts), forwardFor: *f.ForwardFor, h2c: f.H2C,
			tls: binds[i].tls, backend: next.backends[f.DefaultBackend], rt: rt, rules: prog.Frontend(i), acceptProxy: binds[i].proxy,
		}
		fe.rulesOn = fe.rules.HTTPActive() || (fe.backend != nil && fe.backend.rules.HTTPActive())
		fe.alog, fe.alogJSON = logs.frontend(f.Name)
		for _, key := range binds[i].keys {
			l := b.listeners[key]
			fe.listeners = append(fe.listeners, l)
			next.byAddr[key] = fe
		}
		next.frontends[f.Name] = fe
	}
	b.cur.Store(next)
	b.lastSrv, b.lastCerts = d.Servers, d.Certificates
	b.useAccessLogs(logs)
	b.setTicketKeys(now)

	// Retire what the new config no longer has.
	for key, l := range b.listeners {
		if next.byAddr[key] == nil {
			l.close()
			delete(b.listeners, key)
		}
	}
	for id, s := range b.servers {
		if !keepSrv[id] {
			s.removed.Store(true)
			s.pool.closeAll()
			s.h2.closeAll()
			delete(b.servers, id)
		}
	}
	for name, rt := range b.backends {
		rt.queue.wakeAll()
		if !keepBe[name] {
			delete(b.backends, name)
		}
	}
	for name := range b.frontends {
		if !keepFe[name] {
			delete(b.frontends, name)
		}
	}
	for _, l := range fresh {
		b.wg.Add(1)
		go b.acceptLoop(l)
	}
	return nil
}

// certLoader loads a frontend's certificates: the store's by name, or
// PEM files on this node (a path).
func certLoader(t *config.TLS, store map[string]*tls.Certificate) func(string) (*tls.Certificate, error) {
	return func(name string) (*tls.Certificate, error) {
		switch {
		case t.Cert != "" && name == t.Cert:
			return loadCertFile(t.Cert, t.Key)
		case strings.Contains(name, "/"):
			return loadCertFile(name, "")
		}
		if c := store[name]; c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("certificate %q is not in the store (tandem cert add %s --cert FILE --key FILE)", name, name)
	}
}

// applyCertificates rebuilds the certificate indexes of the current
// config's TLS frontends from a new set of store certificates (b.mu
// held). Nothing else changes: listeners and connections stay.
func (b *Balancer) applyCertificates(snap *snapshot, certs map[string]*tls.Certificate) error {
	if maps.Equal(certs, b.lastCerts) {
		return nil
	}
	ixs := map[*frontendTLS]*certIndex{}
	for i := range snap.cluster.Frontends {
		f := &snap.cluster.Frontends[i]
		fe := snap.frontends[f.Name]
		if f.TLS == nil || fe == nil || fe.tls == nil {
			continue
		}
		ix, err := buildCertIndex(f.TLS, acmeCertNames(snap.cluster, f), certLoader(f.TLS, certs))
		if err != nil {
			return fmt.Errorf("apply frontend %s: TLS: %w", f.Name, err)
		}
		ixs[fe.tls] = ix
	}
	for ft, ix := range ixs { // all or nothing
		ft.certs.Store(ix)
	}
	b.renewClientCertificates(certs)
	b.lastCerts = certs
	return nil
}

// bindKey normalizes a bind address: "*:80" and ":80" listen on every
// address; IPv6 literals are bracketed.
func bindKey(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port == "" {
		return "", errors.New("missing port")
	}
	if host == "*" {
		host = ""
	}
	return net.JoinHostPort(host, port), nil
}

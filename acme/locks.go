package acme

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-lb/tandem/cluster"
)

// A lock of the replicated state is held by one node at a time. Its holder
// pushes its expiry back every third of the TTL; a node that dies holding
// it (SIGKILL, power loss) loses it when it expires, and the node waiting
// for it takes it and does the work. Expiry is decided from the time the
// taker puts in its command, so the LB nodes' clocks should agree (NTP)
// to within a fraction of the TTL.

// retryPause is how long Lock waits before trying again after a failure
// to reach the leader.
const retryPause = time.Second

// Lock implements certmagic.Locker: it returns once this node holds the
// lock, or when ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	if err := s.lockLocal(ctx, name); err != nil {
		return err
	}
	for {
		ok, held, err := s.tryLock(ctx, name)
		if ok {
			return nil
		}
		var wait time.Duration
		switch {
		case held != nil:
			wait = time.Until(held.Expires) + 10*time.Millisecond
		case ctx.Err() != nil:
			s.unlockLocal(name)
			return fmt.Errorf("take lock %s: %w", name, ctx.Err())
		default:
			s.log.Warn("take lock: "+err.Error()+"; retrying", "lock", name)
			wait = retryPause
		}
		if err := s.waitLock(ctx, name, held, wait); err != nil {
			s.unlockLocal(name)
			return fmt.Errorf("take lock %s: %w", name, err)
		}
	}
}

// TryLock implements certmagic.TryLocker.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	ch := s.localChan(name)
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
		return false, nil
	}
	ok, held, err := s.tryLock(ctx, name)
	if !ok {
		s.unlockLocal(name)
		if held != nil {
			err = nil
		}
	}
	return ok, err
}

// waitLock waits until the holder released the lock (or another took
// it), until wait passed, or ctx ended.
func (s *Storage) waitLock(ctx context.Context, name string, held *cluster.ACMELock, wait time.Duration) error {
	changed, cancel := s.r.Subscribe()
	defer cancel()
	timer := time.NewTimer(max(wait, 10*time.Millisecond))
	defer timer.Stop()
	for {
		if held != nil {
			if cur, ok := s.lockOf(name); !ok || cur.Token != held.Token {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case <-changed:
		}
	}
}

func (s *Storage) lockOf(name string) (cluster.ACMELock, bool) {
	st := s.r.State().ACME
	if st == nil {
		return cluster.ACMELock{}, false
	}
	l, ok := st.Locks[name]
	return l, ok
}

// tryLock asks the cluster for the lock once (the local one is held).
// held is the holder when another has it.
func (s *Storage) tryLock(ctx context.Context, name string) (ok bool, held *cluster.ACMELock, err error) {
	token := newToken()
	if _, err := s.apply(ctx, name, token); err != nil {
		var he *cluster.ACMELockHeldError
		if errors.As(err, &he) {
			return false, &he.Lock, err
		}
		return false, nil, err
	}
	h := &heldLock{token: token, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	s.wg.Add(1)
	go s.keepFresh(name, h)
	return true, nil, nil
}

// apply takes or refreshes the lock for one TTL from now.
func (s *Storage) apply(ctx context.Context, name, token string) (*cluster.State, error) {
	now := time.Now().UTC()
	return s.r.Apply(ctx, cluster.AcquireACMELock{Name: name, Now: now,
		Lock: cluster.ACMELock{Owner: s.node, Token: token, Expires: now.Add(s.ttl)}})
}

// keepFresh pushes the lock's expiry back until Unlock or Close.
func (s *Storage) keepFresh(name string, h *heldLock) {
	defer s.wg.Done()
	defer close(h.done)
	tick := time.NewTicker(s.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
		_, err := s.apply(ctx, name, h.token)
		cancel()
		var he *cluster.ACMELockHeldError
		switch {
		case errors.As(err, &he):
			s.log.Error("lost the acme lock: it expired before it could be refreshed and another node took it", "lock", name, "holder", he.Lock.Owner)
			return
		case err != nil:
			s.log.Warn("refresh acme lock: "+err.Error(), "lock", name)
		}
	}
}

// Unlock implements certmagic.Locker.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("release lock %s: %w", name, cluster.ErrACMELockNotHeld)
	}
	close(h.stop)
	<-h.done
	defer s.unlockLocal(name)
	if _, err := s.r.Apply(ctx, cluster.ReleaseACMELock{Name: name, Token: h.token, Time: time.Now().UTC()}); err != nil {
		return fmt.Errorf("release lock %s: %w", name, err)
	}
	return nil
}

// sync makes one commit (the held locks' refresh): once it is committed,
// every node of a majority has applied what this node wrote before it, so
// a challenge just written is answered wherever the CA connects.
func (s *Storage) sync(ctx context.Context) error {
	s.mu.Lock()
	held := make(map[string]string, len(s.held))
	for name, h := range s.held {
		held[name] = h.token
	}
	s.mu.Unlock()
	for name, token := range held {
		if _, err := s.apply(ctx, name, token); err != nil {
			return fmt.Errorf("refresh lock %s: %w", name, err)
		}
	}
	return nil
}

// close stops the refreshers of locks still held (they expire) and waits
// for them.
func (s *Storage) close() {
	s.mu.Lock()
	for name, h := range s.held {
		close(h.stop)
		delete(s.held, name)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// lockLocal takes the per-name lock of this process: certmagic may ask
// for one name's lock from two goroutines.
func (s *Storage) lockLocal(ctx context.Context, name string) error {
	s.mu.Lock()
	ch := s.localChan(name)
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("take lock %s: %w", name, ctx.Err())
	}
}

func (s *Storage) unlockLocal(name string) {
	s.mu.Lock()
	ch := s.localChan(name)
	s.mu.Unlock()
	select {
	case <-ch:
	default:
	}
}

// localChan is the semaphore of a lock name (s.mu held).
func (s *Storage) localChan(name string) chan struct{} {
	ch := s.local[name]
	if ch == nil {
		ch = make(chan struct{}, 1)
		s.local[name] = ch
	}
	return ch
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

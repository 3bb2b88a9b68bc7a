package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// ACMEStore is the storage of the ACME certificate manager (package acme,
// on certmagic) in the replicated state: certmagic's key/value files
// (accounts, certificates, their keys, the challenges being answered) and
// its locks. Values that hold a private key arrive sealed (SealKey):
// the Raft log, snapshots and state.json never hold them in plaintext.
type ACMEStore struct {
	Values map[string]ACMEValue `json:"values,omitempty"`
	Locks  map[string]ACMELock  `json:"locks,omitempty"`
}

// ACMEValue is one stored file.
type ACMEValue struct {
	Value    []byte    `json:"value"`
	Sealed   bool      `json:"sealed,omitempty"`
	Modified time.Time `json:"modified"`
}

// ACMELock is held by one node at a time, until it is released or
// Expires passes: a node that dies holding a lock loses it when it
// expires, and another node takes the work over.
type ACMELock struct {
	Owner   string    `json:"owner"`
	Token   string    `json:"token"` // one acquisition; refreshes and the release name it
	Expires time.Time `json:"expires"`
}

// PutACMEValue stores (or replaces) a value.
type PutACMEValue struct {
	Key   string    `json:"key"`
	Value ACMEValue `json:"value"`
}

// DeleteACMEValue removes a key and every key under it ("KEY/...").
type DeleteACMEValue struct {
	Key  string    `json:"key"`
	Time time.Time `json:"time"`
}

// AcquireACMELock takes a lock that is free or expired at Now, or
// refreshes one held with the same Token; otherwise it is rejected with a
// *ACMELockHeldError. Now travels in the command, so every node decides
// alike.
type AcquireACMELock struct {
	Name string    `json:"name"`
	Lock ACMELock  `json:"lock"`
	Now  time.Time `json:"now"`
}

// ReleaseACMELock frees a lock held with Token; rejected with
// ErrACMELockNotHeld otherwise (it expired and another node took it).
type ReleaseACMELock struct {
	Name  string    `json:"name"`
	Token string    `json:"token"`
	Time  time.Time `json:"time"`
}

// ACMELockHeldError rejects taking a lock another holder has.
type ACMELockHeldError struct {
	Name string
	Lock ACMELock
}

func (e *ACMELockHeldError) Error() string {
	return fmt.Sprintf("acme lock %s is held by %s until %s", e.Name, e.Lock.Owner, e.Lock.Expires.Format(time.RFC3339Nano))
}

// ErrACMELockNotHeld rejects releasing a lock the releaser does not hold.
var ErrACMELockNotHeld = errors.New("acme lock not held")

func (PutACMEValue) commandType() cmdType    { return typePutACMEValue }
func (DeleteACMEValue) commandType() cmdType { return typeDeleteACMEValue }
func (AcquireACMELock) commandType() cmdType { return typeAcquireACMELock }
func (ReleaseACMELock) commandType() cmdType { return typeReleaseACMELock }

// acmeStep applies the ACME commands (see step).
func acmeStep(s *State, cmd Command) (*State, error) {
	var store ACMEStore
	if s.ACME != nil {
		store = *s.ACME
	}
	switch c := cmd.(type) {
	case PutACMEValue:
		if c.Key == "" || len(c.Key) > 1024 {
			return nil, fmt.Errorf("store acme value: %w: key must have 1 to 1024 characters", ErrInvalidCommand)
		}
		store.Values = maps.Clone(store.Values)
		if store.Values == nil {
			store.Values = map[string]ACMEValue{}
		}
		store.Values[c.Key] = c.Value
	case DeleteACMEValue:
		store.Values = maps.Clone(store.Values)
		maps.DeleteFunc(store.Values, func(k string, _ ACMEValue) bool { return k == c.Key || strings.HasPrefix(k, c.Key+"/") })
	case AcquireACMELock:
		cur, held := store.Locks[c.Name]
		if c.Name == "" || c.Lock.Token == "" {
			return nil, fmt.Errorf("take acme lock %q: %w: name and token required", c.Name, ErrInvalidCommand)
		}
		if held && cur.Token != c.Lock.Token && !c.Now.After(cur.Expires) {
			return nil, &ACMELockHeldError{Name: c.Name, Lock: cur}
		}
		store.Locks = maps.Clone(store.Locks)
		if store.Locks == nil {
			store.Locks = map[string]ACMELock{}
		}
		store.Locks[c.Name] = c.Lock
	case ReleaseACMELock:
		if cur, held := store.Locks[c.Name]; !held || cur.Token != c.Token {
			return nil, fmt.Errorf("release acme lock %s: %w", c.Name, ErrACMELockNotHeld)
		}
		store.Locks = maps.Clone(store.Locks)
		delete(store.Locks, c.Name)
	}
	next := s.shallowCopy()
	next.ACME = &store
	return next, nil
}

// ACMEStoreNames are the store names of the ACME certificates config c
// serves, each with the frontends that serve it.
func ACMEStoreNames(c *config.Cluster) map[string][]string {
	out := map[string][]string{}
	if c == nil || c.ACME == nil {
		return out
	}
	fronts := c.ACMEFrontends()
	for _, n := range c.ACME.Names {
		out[config.ACMECertificateName(n)] = slices.Clone(fronts)
	}
	return out
}

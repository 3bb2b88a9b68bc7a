package acme

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/tandem-lb/tandem/cluster"
)

// Replicated is the replicated state as the ACME manager uses it;
// *cluster.Node implements it.
type Replicated interface {
	// State is this node's last committed state (immutable).
	State() *cluster.State
	// Apply commits a command through the leader and returns once this
	// node has applied it.
	Apply(ctx context.Context, cmd cluster.Command) (*cluster.State, error)
	// Subscribe signals (coalesced) every change of State.
	Subscribe() (<-chan struct{}, func())
}

// Storage is certmagic's Storage (and TryLocker) on the replicated state.
// Reads are local: a node holding a lock has applied every write
// committed before the lock, so what it reads under the lock is current.
type Storage struct {
	r          Replicated
	clusterKey []byte
	node       string
	ttl        time.Duration
	log        *slog.Logger

	mu    sync.Mutex
	local map[string]chan struct{} // per lock name: held by a goroutine of this process
	held  map[string]*heldLock
	wg    sync.WaitGroup // lock refreshers
}

type heldLock struct {
	token string
	stop  chan struct{}
	done  chan struct{}
}

var (
	_ certmagic.Storage   = (*Storage)(nil)
	_ certmagic.TryLocker = (*Storage)(nil)
)

func newStorage(r Replicated, clusterKey []byte, node string, ttl time.Duration, log *slog.Logger) *Storage {
	return &Storage{r: r, clusterKey: clusterKey, node: node, ttl: ttl, log: log,
		local: map[string]chan struct{}{}, held: map[string]*heldLock{}}
}

// sealed says which values are sealed: certmagic names every private key
// (certificates' and accounts') KEY.key.
func sealed(key string) bool { return strings.HasSuffix(key, ".key") }

// sealName binds a sealed value to its key.
func sealName(key string) string { return "acme/" + key }

func (s *Storage) values() map[string]cluster.ACMEValue {
	if st := s.r.State().ACME; st != nil {
		return st.Values
	}
	return nil
}

// Store implements certmagic.Storage.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	v := cluster.ACMEValue{Value: value, Modified: time.Now().UTC()}
	if sealed(key) {
		b, err := cluster.SealKey(s.clusterKey, sealName(key), value)
		if err != nil {
			return fmt.Errorf("store %s: %w", key, err)
		}
		v.Value, v.Sealed = b, true
	}
	if _, err := s.r.Apply(ctx, cluster.PutACMEValue{Key: key, Value: v}); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Load implements certmagic.Storage.
func (s *Storage) Load(_ context.Context, key string) ([]byte, error) {
	v, ok := s.values()[key]
	if !ok {
		return nil, fmt.Errorf("load %s: %w", key, fs.ErrNotExist)
	}
	if !v.Sealed {
		return v.Value, nil
	}
	b, err := cluster.OpenKey(s.clusterKey, sealName(key), v.Value)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", key, err)
	}
	return b, nil
}

// under reports whether key is prefix or below it ("prefix/...").
func under(key, prefix string) bool {
	return prefix == "" || key == prefix || strings.HasPrefix(key, prefix+"/")
}

// Delete implements certmagic.Storage: a key, or a "directory" (every key
// below it).
func (s *Storage) Delete(ctx context.Context, key string) error {
	if !s.Exists(ctx, key) {
		return fmt.Errorf("delete %s: %w", key, fs.ErrNotExist)
	}
	if _, err := s.r.Apply(ctx, cluster.DeleteACMEValue{Key: key, Time: time.Now().UTC()}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Exists implements certmagic.Storage (directories exist too).
func (s *Storage) Exists(_ context.Context, key string) bool {
	for k := range s.values() {
		if under(k, key) {
			return true
		}
	}
	return false
}

// List implements certmagic.Storage.
func (s *Storage) List(_ context.Context, prefix string, recursive bool) ([]string, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	seen := map[string]bool{}
	for k := range s.values() {
		if k == prefix || !under(k, prefix) {
			continue
		}
		if !recursive {
			rest := strings.TrimPrefix(strings.TrimPrefix(k, prefix), "/")
			first, _, _ := strings.Cut(rest, "/")
			k = first
			if prefix != "" {
				k = prefix + "/" + first
			}
		}
		seen[k] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("list %s: %w", prefix, fs.ErrNotExist)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// Stat implements certmagic.Storage.
func (s *Storage) Stat(_ context.Context, key string) (certmagic.KeyInfo, error) {
	vals := s.values()
	if v, ok := vals[key]; ok {
		return certmagic.KeyInfo{Key: key, Modified: v.Modified, Size: int64(len(v.Value)), IsTerminal: true}, nil
	}
	info := certmagic.KeyInfo{Key: key}
	found := false
	for k, v := range vals {
		if under(k, key) {
			found = true
			if v.Modified.After(info.Modified) {
				info.Modified = v.Modified
			}
		}
	}
	if !found {
		return info, fmt.Errorf("stat %s: %w", key, fs.ErrNotExist)
	}
	return info, nil
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "tandem replicated state" }

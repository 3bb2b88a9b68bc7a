package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// The node keeps the last committed state in DataDir/state.json so that
// after a restart without quorum it serves the last committed config at
// once instead of waiting for a leader. Raft replays its log from the last
// snapshot on start; replayed states older than the cached one (lower
// Index) are not shown and not written.
//
// It also keeps the gossip addresses of the other members it has seen in
// DataDir/peers.json and joins them on start (as Serf does): Raft keeps
// its peers across a restart, gossip would not, and a node that was
// started without --join (the first one) would otherwise come back alone.

func (n *Node) cachePath() string { return filepath.Join(n.cfg.DataDir, "state.json") }
func (n *Node) peersPath() string { return filepath.Join(n.cfg.DataDir, "peers.json") }

// loadPeers reads the saved gossip addresses; none when missing or unreadable.
func loadPeers(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var addrs []string
	if json.Unmarshal(b, &addrs) != nil {
		return nil
	}
	return addrs
}

// loadCache reads the cached state; (nil, nil) when there is none.
func loadCache(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := decodeState(b)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return s, nil
}

// writeCache replaces path with s atomically.
func writeCache(path string, s *State) error {
	b, err := encodeState(s)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic replaces path with b: temp file, fsync, rename, fsync of
// the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".state-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// runPersist rewrites state.json whenever the visible state got newer, and
// peers.json whenever the set of known peers changed, until stop is
// closed; then it writes once more so the last apply is kept.
func (n *Node) runPersist(rt *running, stop <-chan struct{}) {
	written := n.diskIndex // what state.json holds
	flush := func() {
		s := n.State()
		if s.Index <= written {
			return
		}
		if err := writeCache(n.cachePath(), s); err != nil {
			n.logger.Error("write the committed state cache: "+err.Error(), "path", n.cachePath(), "index", s.Index)
			return
		}
		written = s.Index
	}
	peers := loadPeers(n.peersPath())
	savePeers := func() {
		now := n.peerAddrs(rt)
		if len(now) == 0 || slices.Equal(now, peers) {
			return // keep the last list while alone: those are the ones to rejoin
		}
		b, _ := json.Marshal(now)
		if err := writeFileAtomic(n.peersPath(), b); err != nil {
			n.logger.Error("write the peer list: "+err.Error(), "path", n.peersPath())
			return
		}
		peers = now
	}
	for {
		select {
		case <-n.cacheCh:
			flush()
		case <-rt.peersCh:
			savePeers()
		case <-stop:
			flush()
			return
		}
	}
}

// peerAddrs returns the gossip addresses of the other members that have
// not left, sorted.
func (n *Node) peerAddrs(rt *running) []string {
	var out []string
	for _, m := range rt.gossip.members() {
		if m.name != n.cfg.Node && m.status != StatusLeft {
			out = append(out, net.JoinHostPort(m.addr.String(), strconv.Itoa(int(m.port))))
		}
	}
	return out
}

package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCacheRoundTrip(t *testing.T) {
	f := newFSM(nil)
	applyAll(t, f, 1, commandLog()...)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := writeCache(path, f.current()); err != nil {
		t.Fatal(err)
	}
	got, err := loadCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.current(), got); diff != "" {
		t.Fatalf("cached state differs (-want +got):\n%s", diff)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*")); len(matches) != 0 {
		t.Fatalf("temp files left: %v", matches)
	}
}

// A restarted node replays its log from older states; they must neither
// replace the cached state in State() nor overwrite state.json.
func TestReplayedOlderStateDoesNotShadowCache(t *testing.T) {
	cfg := Config{Node: "a", DataDir: t.TempDir(), BindAddr: "127.0.0.1"}
	cached := &State{Version: 5, Config: testConfig("s1"), Index: 40}
	if err := writeCache(filepath.Join(cfg.DataDir, "state.json"), cached); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if st := n.State(); st.Version != 5 || st.Index != 40 {
		t.Fatalf("before Run: version %d index %d, want the cache's 5 and 40", st.Version, st.Index)
	}
	n.onFSMChange(&State{Version: 3, Index: 20})
	if st := n.State(); st.Index != 40 {
		t.Fatalf("an older replayed state replaced the cache: index %d", st.Index)
	}
	newer := &State{Version: 6, Config: testConfig("s1", "s2"), Index: 41}
	n.onFSMChange(newer)
	if n.State() != newer {
		t.Fatal("a newer state did not replace the cache")
	}
	stop := make(chan struct{})
	close(stop)
	n.runPersist(&running{peersCh: make(chan struct{})}, stop)
	got, err := loadCache(filepath.Join(cfg.DataDir, "state.json"))
	if err != nil || got.Index != 41 {
		t.Fatalf("state.json after flush: %+v, %v", got, err)
	}
}

func TestCorruptCacheIsIgnored(t *testing.T) {
	cfg := Config{Node: "a", DataDir: t.TempDir(), BindAddr: "127.0.0.1"}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "state.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, Deps{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if st := n.State(); st == nil || st.Version != 0 {
		t.Fatalf("state after a corrupt cache: %+v", st)
	}
}

package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/tandem-lb/tandem/config"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testConfig(servers ...string) *config.Cluster {
	b := config.Backend{Name: "web"}
	for _, s := range servers {
		b.Servers = append(b.Servers, config.Server{Name: s, Address: "192.168.1.2:8001", Check: true})
	}
	return &config.Cluster{
		Frontends: []config.Frontend{{Name: "www", Bind: []string{":80"}, DefaultBackend: "web"}},
		Backends:  []config.Backend{b},
	}
}

// applyAll feeds cmds to f as consecutive log entries starting at index
// first and returns each result.
func applyAll(t *testing.T, f *fsm, first uint64, cmds ...Command) []applyResult {
	t.Helper()
	var out []applyResult
	for i, c := range cmds {
		data, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f.Apply(&raft.Log{Index: first + uint64(i), Term: 1, Type: raft.LogCommand, Data: data}).(applyResult))
	}
	return out
}

func snapshotBytes(t *testing.T, f *fsm) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

type memSink struct{ bytes.Buffer }

func (*memSink) ID() string    { return "mem" }
func (*memSink) Cancel() error { return nil }
func (*memSink) Close() error  { return nil }

func ptr[T any](v T) *T { return &v }

func commandLog() []Command {
	return []Command{
		InitCluster{ID: "c1", Node: "a", Time: t0},
		SetNodeLive{Node: "a", Live: true, Role: RoleVoter, Time: t0},
		SetNodeLive{Node: "b", Live: true, Role: RoleVoter, Time: t0},
		SetNodeLive{Node: "w", Live: true, Role: RoleWitness, Time: t0},
		ApplyConfig{Expected: 0, Config: testConfig("s1", "s2"), Node: "a", Message: "first", Time: t0},
		ReportHealth{Node: "a", Full: true, Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthUp, sk("web/s2"): config.HealthDown}, Time: t0},
		ReportHealth{Node: "b", Full: true, Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthDown, sk("web/s2"): config.HealthDown}, Time: t0},
		SetServer{Key: config.ServerKey{Backend: "web", Server: "s1"}, Admin: ptr(config.AdminDrain), Weight: ptr(5), Node: "b", Time: t0},
		ApplyConfig{Expected: 1, Config: testConfig("s1", "s2", "s3"), Node: "b", Time: t0.Add(time.Minute)},
		DeployProgress{Backend: "web", Server: "s1", Step: "drain", Node: "a", Host: "laptop", ID: "d1", Since: t0},
		Rollback{To: 1, Expected: 2, Node: "a", Time: t0.Add(2 * time.Minute)},
		SetNodeLive{Node: "b", Live: false, Role: RoleVoter, Time: t0.Add(3 * time.Minute)},
	}
}

func TestFSMSameLogGivesIdenticalSnapshots(t *testing.T) {
	f1, f2 := newFSM(nil), newFSM(nil)
	applyAll(t, f1, 1, commandLog()...)
	applyAll(t, f2, 1, commandLog()...)
	b1, b2 := snapshotBytes(t, f1), snapshotBytes(t, f2)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("snapshots differ:\n%s\n%s", b1, b2)
	}
	if got := f1.current(); got.Version != 3 || got.ClusterID != "c1" || got.Index != uint64(len(commandLog())) {
		t.Fatalf("version %d index %d, want 3 and %d", got.Version, got.Index, len(commandLog()))
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	f1 := newFSM(nil)
	applyAll(t, f1, 1, commandLog()...)
	b1 := snapshotBytes(t, f1)

	var changed *State
	f2 := newFSM(func(s *State) { changed = s })
	if err := f2.Restore(io.NopCloser(bytes.NewReader(b1))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f1.current(), f2.current()); diff != "" {
		t.Fatalf("restored state differs (-want +got):\n%s", diff)
	}
	if changed != f2.current() {
		t.Fatal("Restore did not report the new state")
	}
	if b2 := snapshotBytes(t, f2); !bytes.Equal(b1, b2) {
		t.Fatalf("snapshot of restored state differs:\n%s\n%s", b1, b2)
	}
}

func TestRestoreRejectsUnknownFormat(t *testing.T) {
	f := newFSM(nil)
	err := f.Restore(io.NopCloser(bytes.NewReader([]byte(`{"format":99,"state":{}}`))))
	if err == nil {
		t.Fatal("want an error for format 99")
	}
}

func TestUnknownIgnorableCommandIsSkipped(t *testing.T) {
	f := newFSM(nil)
	applyAll(t, f, 1, ApplyConfig{Config: testConfig("s1"), Node: "a", Time: t0})
	before := f.current()
	res := f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: []byte{0xfe, '{', '}'}}).(applyResult)
	if res.err != nil || f.current() != before {
		t.Fatalf("ignorable entry changed the state or failed: %v", res.err)
	}
}

func TestUndecodableEntryPanics(t *testing.T) {
	for name, data := range map[string][]byte{
		"unknown type without ignore bit": {0x7e, '{', '}'},
		"bad body":                        {byte(typeApplyConfig), '{'},
		"empty":                           {},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Apply did not panic")
				}
			}()
			newFSM(nil).Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
		})
	}
}

func TestApplyConfigConflict(t *testing.T) {
	f := newFSM(nil)
	res := applyAll(t, f, 1,
		ApplyConfig{Expected: 0, Config: testConfig("s1"), Node: "a", Time: t0},
		ApplyConfig{Expected: 0, Config: testConfig("s2"), Node: "b", Time: t0},
	)
	if res[0].err != nil {
		t.Fatal(res[0].err)
	}
	var ce *ConflictError
	if !errors.As(res[1].err, &ce) || ce.Expected != 0 || ce.Current != 1 {
		t.Fatalf("second apply: got %v, want a conflict expected 0 current 1", res[1].err)
	}
	if s := f.current(); s.Version != 1 || s.Config.Backends[0].Servers[0].Name != "s1" || s.Index != 1 {
		t.Fatalf("rejected command changed the state: version %d index %d", s.Version, s.Index)
	}
}

func TestRollback(t *testing.T) {
	f := newFSM(nil)
	applyAll(t, f, 1,
		ApplyConfig{Expected: 0, Config: testConfig("s1"), Node: "a", Time: t0},
		ApplyConfig{Expected: 1, Config: testConfig("s1", "s2"), Node: "a", Time: t0},
	)
	res := applyAll(t, f, 3,
		Rollback{To: 1, Expected: 2, Node: "a", Time: t0},
		Rollback{To: 9, Expected: 3, Node: "a", Time: t0},
		Rollback{To: 1, Expected: 1, Node: "a", Time: t0},
	)
	if res[0].err != nil {
		t.Fatal(res[0].err)
	}
	s := res[0].state
	if s.Version != 3 || len(s.Config.Backends[0].Servers) != 1 || s.History[2].Message != "rollback to version 1" {
		t.Fatalf("after rollback: version %d, %d servers, message %q", s.Version, len(s.Config.Backends[0].Servers), s.History[2].Message)
	}
	if !errors.Is(res[1].err, ErrUnknownVersion) {
		t.Fatalf("rollback to 9: got %v, want ErrUnknownVersion", res[1].err)
	}
	var ce *ConflictError
	if !errors.As(res[2].err, &ce) {
		t.Fatalf("rollback with stale expected: got %v, want a conflict", res[2].err)
	}
}

func TestHistoryKeepsLastVersions(t *testing.T) {
	f := newFSM(nil)
	for v := uint64(0); v < HistoryLimit+10; v++ {
		applyAll(t, f, v+1, ApplyConfig{Expected: v, Config: testConfig(fmt.Sprintf("s%d", v)), Time: t0})
	}
	s := f.current()
	if len(s.History) != HistoryLimit || s.History[0].Version != 11 || s.History[HistoryLimit-1].Version != HistoryLimit+10 {
		t.Fatalf("history holds %d entries from %d to %d", len(s.History), s.History[0].Version, s.History[len(s.History)-1].Version)
	}
	if res := applyAll(t, f, 100, Rollback{To: 11, Expected: s.Version, Time: t0}); res[0].err != nil {
		t.Fatalf("rollback to the oldest held version: %v", res[0].err)
	}
}

func TestSetServer(t *testing.T) {
	f := newFSM(nil)
	key := config.ServerKey{Backend: "web", Server: "s1"}
	if res := applyAll(t, f, 1, SetServer{Key: key, Admin: ptr(config.AdminDrain)}); !errors.Is(res[0].err, ErrNoConfig) {
		t.Fatalf("before any config: got %v, want ErrNoConfig", res[0].err)
	}
	cfg := testConfig("s1", "s2")
	cfg.Backends[0].Servers[1].Disabled = true
	applyAll(t, f, 2, ApplyConfig{Config: cfg, Time: t0})
	if got := f.current().Admin(config.ServerKey{Backend: "web", Server: "s2"}).Admin; got != config.AdminMaint {
		t.Fatalf("disabled server: admin %v, want maint", got)
	}
	res := applyAll(t, f, 3,
		SetServer{Key: key, Admin: ptr(config.AdminDrain), Weight: ptr(7), Node: "a", Time: t0},
		SetServer{Key: config.ServerKey{Backend: "web", Server: "nope"}, Admin: ptr(config.AdminDrain)},
		SetServer{Key: config.ServerKey{Backend: "api", Server: "s1"}, Admin: ptr(config.AdminDrain)},
		SetServer{Key: key, Weight: ptr(300)},
		SetServer{Key: key, Weight: ptr(-1), Node: "b", Time: t0},
	)
	want := ServerRuntime{Admin: config.AdminDrain, Weight: ptr(7), Node: "a", Time: t0}
	if diff := cmp.Diff(want, res[0].state.Admin(key)); diff != "" {
		t.Fatalf("after set (-want +got):\n%s", diff)
	}
	for i, want := range []error{ErrUnknownServer, ErrUnknownServer, ErrInvalidCommand} {
		if !errors.Is(res[i+1].err, want) {
			t.Errorf("command %d: got %v, want %v", i+1, res[i+1].err, want)
		}
	}
	if rt := res[4].state.Admin(key); rt.Weight != nil || rt.Admin != config.AdminDrain {
		t.Fatalf("weight reset: got %+v", rt)
	}
}

func TestReportHealthFullReplacesPartialMerges(t *testing.T) {
	f := newFSM(nil)
	applyAll(t, f, 1,
		ApplyConfig{Config: testConfig("s1", "s2"), Time: t0},
		ReportHealth{Node: "a", Full: true, Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthDown, sk("web/s2"): config.HealthDown, sk("web/gone"): config.HealthDown}},
		ReportHealth{Node: "a", Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthUp}},
	)
	want := map[config.ServerKey]map[string]config.Health{sk("web/s1"): {"a": config.HealthUp}, sk("web/s2"): {"a": config.HealthDown}}
	if diff := cmp.Diff(want, f.current().Reports); diff != "" {
		t.Fatalf("after partial report (-want +got):\n%s", diff)
	}
	applyAll(t, f, 4, ReportHealth{Node: "a", Full: true, Obs: map[config.ServerKey]config.Health{sk("web/s2"): config.HealthUp}})
	want = map[config.ServerKey]map[string]config.Health{sk("web/s2"): {"a": config.HealthUp}}
	if diff := cmp.Diff(want, f.current().Reports); diff != "" {
		t.Fatalf("after full report (-want +got):\n%s", diff)
	}
}

func TestConfigChangeDropsRemovedServers(t *testing.T) {
	f := newFSM(nil)
	applyAll(t, f, 1,
		ApplyConfig{Config: testConfig("s1", "s2"), Time: t0},
		SetServer{Key: config.ServerKey{Backend: "web", Server: "s2"}, Admin: ptr(config.AdminMaint)},
		ReportHealth{Node: "a", Obs: map[config.ServerKey]config.Health{sk("web/s2"): config.HealthDown}},
		ApplyConfig{Expected: 1, Config: testConfig("s1"), Time: t0},
	)
	s := f.current()
	if len(s.Servers) != 0 || len(s.Reports) != 0 || len(s.Agreed) != 1 {
		t.Fatalf("removed server left traces: servers %v reports %v agreed %v", s.Servers, s.Reports, s.Agreed)
	}
}

func TestStatesAreNotModifiedByLaterApplies(t *testing.T) {
	f := newFSM(nil)
	res := applyAll(t, f, 1,
		ApplyConfig{Config: testConfig("s1"), Time: t0},
		SetNodeLive{Node: "a", Live: true, Time: t0},
		ReportHealth{Node: "a", Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthDown}},
	)
	before, _ := encodeState(res[1].state)
	applyAll(t, f, 4,
		ReportHealth{Node: "a", Obs: map[config.ServerKey]config.Health{sk("web/s1"): config.HealthUp}},
		SetNodeLive{Node: "a", Live: false, Time: t0},
		SetServer{Key: config.ServerKey{Backend: "web", Server: "s1"}, Admin: ptr(config.AdminDrain)},
		RemoveNode{Node: "a"},
	)
	after, _ := encodeState(res[1].state)
	if !bytes.Equal(before, after) {
		t.Fatalf("an old state changed:\n%s\n%s", before, after)
	}
}

// TestDeployProgressRefusesASecondRun: while one deploy run of a backend
// is recorded and not done, progress of another run is refused (two
// clients racing to start cannot both proceed); the same run may go on,
// and a new run may start once the first is done.
func TestDeployProgressRefusesASecondRun(t *testing.T) {
	rec := func(id, at string, done bool) DeployProgress {
		return DeployProgress{Backend: "web", Server: "s1", Step: at, ID: id, Host: "host-" + id, Since: t0, Done: done}
	}
	s, err := step(&State{}, rec("d1", "start", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := step(s, rec("d2", "start", false)); !errors.Is(err, ErrDeployRunning) ||
		!strings.Contains(err.Error(), "id d1 from host-d1 at start") {
		t.Fatalf("second run while d1 runs: got %v, want ErrDeployRunning naming d1", err)
	}
	if s, err = step(s, rec("d1", "drain", false)); err != nil {
		t.Fatalf("the running deploy's own progress: %v", err)
	}
	if _, err := step(s, rec("d3", "start", false)); !errors.Is(err, ErrDeployRunning) {
		t.Fatalf("third run while d1 runs: got %v", err)
	}
	if s, err = step(s, rec("d1", "done", true)); err != nil {
		t.Fatal(err)
	}
	if s, err = step(s, rec("d2", "start", false)); err != nil || s.Deploys["web"].ID != "d2" {
		t.Fatalf("new run after d1 finished: %v, record %+v", err, s.Deploys["web"])
	}
	if w := toWire(fmt.Errorf("apply: %w", ErrDeployRunning)).err(); !errors.Is(w, ErrDeployRunning) {
		t.Fatalf("ErrDeployRunning lost across forwarding: %v", w)
	}
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/cluster"
	"github.com/tandem-lb/tandem/config"
)

// clusterStore is the store of a clustered node: reads come from the last
// committed Raft state, writes go through Raft (forwarded to the leader).
type clusterStore struct {
	n       *cluster.Node
	node    string
	changed <-chan struct{}
	cancel  func()
}

func newClusterStore(n *cluster.Node, node string) *clusterStore {
	ch, cancel := n.Subscribe()
	return &clusterStore{n: n, node: node, changed: ch, cancel: cancel}
}

func (s *clusterStore) Changed() <-chan struct{} { return s.changed }

func (s *clusterStore) View() view {
	st := s.n.State()
	v := view{
		Version:      st.Version,
		Config:       st.Config,
		Admin:        make(map[config.ServerKey]serverAdmin, len(st.Servers)),
		Agreed:       make(map[config.ServerKey]config.Health, len(st.Agreed)),
		Quorum:       s.n.Raft().Leader != "",
		Certificates: st.Certificates,
	}
	for key, rt := range st.Servers {
		v.Admin[key] = serverAdmin{Admin: rt.Admin, Weight: rt.Weight}
	}
	maps.Copy(v.Agreed, st.Agreed)
	return v
}

func (s *clusterStore) ApplyConfig(ctx context.Context, expected uint64, c *config.Cluster, msg string) (uint64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	st, err := s.n.Apply(ctx, cluster.ApplyConfig{Expected: expected, Config: c, Node: s.node, Message: msg, Time: time.Now().UTC()})
	if err != nil {
		return 0, err
	}
	return st.Version, nil
}

func (s *clusterStore) SetServer(ctx context.Context, key config.ServerKey, admin *config.AdminState, weight *int) error {
	if err := checkServer(s.n.State().Config, key, weight); err != nil {
		return err
	}
	_, err := s.n.Apply(ctx, cluster.SetServer{Key: key, Admin: admin, Weight: weight, Node: s.node, Time: time.Now().UTC()})
	return err
}

func (s *clusterStore) Observe(obs map[config.ServerKey]config.Health) { s.n.Observe(obs) }

// kinded marks err with an API kind without repeating the kind in the
// message: a cluster error already says "no quorum: …" or "config version
// conflict: …" in its own words.
type kinded struct{ kind, err error }

func (k kinded) Error() string   { return k.err.Error() }
func (k kinded) Unwrap() []error { return []error{k.kind, k.err} }

// clusterErrorKind maps cluster errors onto the API's kinds.
func clusterErrorKind(err error) error {
	var ce *cluster.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce), errors.Is(err, cluster.ErrDeployRunning), errors.Is(err, cluster.ErrCertificateInUse):
		return kinded{api.ErrConflict, err}
	case errors.Is(err, cluster.ErrUnknownCertificate):
		return kinded{api.ErrBadRequest, err}
	case errors.Is(err, cluster.ErrNoQuorum):
		return kinded{api.ErrNoQuorum, err}
	case errors.Is(err, cluster.ErrInvalidCommand):
		return kinded{api.ErrBadRequest, err}
	case errors.Is(err, cluster.ErrUnknownVersion):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return errorKind(err)
}

package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/tandem-lb/tandem/balancer"
	"github.com/tandem-lb/tandem/config"
)

// NodeCounters is one node's own counters, as GET /api/v1/counters
// answers them to the other nodes.
type NodeCounters struct {
	Node  string         `json:"node"`
	Time  time.Time      `json:"time"`
	Stats balancer.Stats `json:"stats"`
	// Series is the node's last 15 minutes (with ?series=1).
	Series *Series `json:"series,omitempty"`
}

// ClusterCounters are the counters of every LB node that answered, the
// serving node's first, and why the others are missing.
type ClusterCounters struct {
	Nodes   []NodeCounters
	Missing map[string]string // node → reason
}

// Peer is another LB node, as gossip knows it.
type Peer struct {
	Name    string
	APIAddr string
	Gossip  string // its gossip address (host:port)
	Alive   bool
}

// PeerSource lists the other LB nodes (the agent's membership view).
type PeerSource interface {
	Peers() []Peer
}

// CountersConfig configures the gathering of the cluster's counters.
type CountersConfig struct {
	// Node is this node's name.
	Node string
	// Token is sent to the other nodes' APIs (the cluster's nodes share
	// one API token, or none).
	Token string
	// Timeout bounds waiting for a node (default 800ms): a node that does
	// not answer in time is reported missing, the others are summed.
	Timeout time.Duration
	// MaxAge is how long a gathered result is reused (default 1s), so
	// that hatop polling every second and an exporter scraping do not
	// each make every node ask every other.
	MaxAge time.Duration
}

// Counters serves this node's counters to the other nodes and gathers
// the cluster's. Why pull over the admin API: counters are per node,
// volatile and large, so they do not belong in the Raft log (every
// increment would be a replicated write) nor in gossip (memberlist's
// metadata is 512 bytes); the API already exists, is authenticated, and a
// pull costs nothing while nobody looks.
type Counters struct {
	cfg     CountersConfig
	stats   StatsSource
	history *History
	peers   PeerSource
	now     func() time.Time

	mu     sync.Mutex // one gathering at a time; guards cache
	cached map[bool]cachedCounters

	baseMu sync.Mutex
	base   *balancer.Stats // the counters at the last "clear counters all"
}

type cachedCounters struct {
	at  time.Time
	val ClusterCounters
}

// NewCounters builds the gatherer; history may be nil.
func NewCounters(cfg CountersConfig, stats StatsSource, history *History, peers PeerSource) *Counters {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 800 * time.Millisecond
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Second
	}
	return &Counters{cfg: cfg, stats: stats, history: history, peers: peers, now: time.Now, cached: map[bool]cachedCounters{}}
}

// Register adds GET /api/v1/counters and POST /api/v1/counters/clear
// (token when set).
func (c *Counters) Register(s *Server) {
	s.Handle("GET /api/v1/counters", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.Own(r.URL.Query().Get("series") == "1"))
	}), true)
	s.Handle("POST /api/v1/counters/clear", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Clear()
		writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
	}), true)
}

// Clear zeroes this node's counters as Own reports them (HAProxy's
// "clear counters all"); /metrics keeps its monotonic counters.
func (c *Counters) Clear() {
	st := cloneStats(c.stats.Stats())
	c.baseMu.Lock()
	c.base = &st
	c.baseMu.Unlock()
	c.mu.Lock()
	clear(c.cached)
	c.mu.Unlock()
}

// ClearAll clears the counters of this node and of every other LB node
// that answers; it returns the nodes it could not clear, with why.
func (c *Counters) ClearAll(ctx context.Context) map[string]string {
	c.Clear()
	missing := map[string]string{}
	var peers []Peer
	if c.peers != nil {
		peers = c.peers.Peers()
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range peers {
		if why := unreachable(p); why != "" {
			missing[p.Name] = why
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			if err := NewClient(p.APIAddr, c.cfg.Token).do(ctx, http.MethodPost, "/api/v1/counters/clear", struct{}{}, nil); err != nil {
				mu.Lock()
				missing[p.Name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return missing
}

// Own returns this node's counters (since the last Clear).
func (c *Counters) Own(series bool) NodeCounters {
	st := c.stats.Stats()
	c.baseMu.Lock()
	if c.base != nil {
		st = subStats(st, *c.base)
	}
	c.baseMu.Unlock()
	nc := NodeCounters{Node: c.cfg.Node, Time: c.now().UTC(), Stats: st}
	if series && c.history != nil {
		s := c.history.Series()
		nc.Series = &s
	}
	return nc
}

// Gather returns this node's counters and every other LB node's that
// answers within the timeout (with series, their histories too). This
// node's are always current; the others' are reused for up to MaxAge.
func (c *Counters) Gather(ctx context.Context, series bool) ClusterCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit, ok := c.cached[series]
	if !ok || c.now().Sub(hit.at) >= c.cfg.MaxAge {
		hit = cachedCounters{at: c.now(), val: c.gatherPeers(ctx, series)}
		c.cached[series] = hit
	}
	out := ClusterCounters{Nodes: append([]NodeCounters{c.Own(series)}, hit.val.Nodes...), Missing: hit.val.Missing}
	return out
}

// gatherPeers asks every other LB node at once.
func (c *Counters) gatherPeers(ctx context.Context, series bool) ClusterCounters {
	out := ClusterCounters{Missing: map[string]string{}}
	var peers []Peer
	if c.peers != nil {
		peers = c.peers.Peers()
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Name < peers[j].Name })
	got := make([]NodeCounters, len(peers))
	errs := make([]string, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		if why := unreachable(p); why != "" {
			errs[i] = why
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = c.fetch(ctx, p, series)
		}()
	}
	wg.Wait()
	for i, p := range peers {
		if errs[i] != "" {
			out.Missing[p.Name] = errs[i]
			continue
		}
		out.Nodes = append(out.Nodes, got[i])
	}
	return out
}

// unreachable says why a peer cannot be asked, or "".
func unreachable(p Peer) string {
	switch {
	case !p.Alive:
		return "not alive in gossip"
	case p.APIAddr == "":
		return "its admin API address is unknown"
	}
	api, _, err := net.SplitHostPort(p.APIAddr)
	gossip, _, gerr := net.SplitHostPort(p.Gossip)
	if err == nil && gerr == nil && isLoopback(api) && !isLoopback(gossip) {
		return "its admin API listens on loopback only (set api_addr to an address the nodes reach, and api_token)"
	}
	return ""
}

func (c *Counters) fetch(ctx context.Context, p Peer, series bool) (NodeCounters, string) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	nc, err := NewClient(p.APIAddr, c.cfg.Token).Counters(ctx, series)
	if err != nil {
		return NodeCounters{}, fmt.Sprintf("did not answer in %v: %v", c.cfg.Timeout, err)
	}
	if nc.Node != p.Name {
		return NodeCounters{}, fmt.Sprintf("%s answered as node %q", p.APIAddr, nc.Node)
	}
	return nc, ""
}

// Counters returns the node's own counters (series: with its history).
func (c *Client) Counters(ctx context.Context, series bool) (NodeCounters, error) {
	var nc NodeCounters
	path := "/api/v1/counters"
	if series {
		path += "?series=1"
	}
	err := c.do(ctx, http.MethodGet, path, nil, &nc)
	return nc, err
}

// NodeNames are the nodes whose counters cc holds, in order.
func (cc ClusterCounters) NodeNames() []string {
	out := make([]string, len(cc.Nodes))
	for i, n := range cc.Nodes {
		out[i] = n.Node
	}
	return out
}

// Sum adds the nodes' counters: each frontend, backend and server's over
// every node that has it, in the serving node's config order (objects
// only other nodes have, during a config change, are left out).
func (cc ClusterCounters) Sum() balancer.Stats {
	if len(cc.Nodes) == 0 {
		return balancer.Stats{}
	}
	sum := cloneStats(cc.Nodes[0].Stats)
	fe := map[string]int{}
	for i, f := range sum.Frontends {
		fe[f.Name] = i
	}
	be := map[string]int{}
	for i, b := range sum.Backends {
		be[b.Name] = i
	}
	srv := map[config.ServerKey]int{}
	for i, s := range sum.Servers {
		srv[s.Key] = i
	}
	for _, n := range cc.Nodes[1:] {
		for _, f := range n.Stats.Frontends {
			if i, ok := fe[f.Name]; ok {
				sum.Frontends[i].Counters = AddCounters(sum.Frontends[i].Counters, f.Counters)
				sum.Frontends[i].Ready = sum.Frontends[i].Ready && f.Ready
			}
		}
		for _, b := range n.Stats.Backends {
			if i, ok := be[b.Name]; ok {
				sum.Backends[i].Counters = AddCounters(sum.Backends[i].Counters, b.Counters)
				sum.Backends[i].ResponseTime = sum.Backends[i].ResponseTime.Add(b.ResponseTime)
			}
		}
		for _, s := range n.Stats.Servers {
			if i, ok := srv[s.Key]; ok {
				sum.Servers[i].Counters = AddCounters(sum.Servers[i].Counters, s.Counters)
				sum.Servers[i].ResponseTime = sum.Servers[i].ResponseTime.Add(s.ResponseTime)
				sum.Servers[i].IdleConns += s.IdleConns
			}
		}
	}
	return sum
}

func cloneStats(s balancer.Stats) balancer.Stats {
	return balancer.Stats{
		Frontends: append([]balancer.FrontendStats(nil), s.Frontends...),
		Backends:  append([]balancer.BackendStats(nil), s.Backends...),
		Servers:   append([]balancer.ServerStats(nil), s.Servers...),
	}
}

// AddCounters adds two nodes' counters field by field.
func AddCounters(a, b balancer.Counters) balancer.Counters {
	a.CurConns += b.CurConns
	a.TotalConns += b.TotalConns
	a.Requests += b.Requests
	for i := range a.Responses {
		a.Responses[i] += b.Responses[i]
	}
	a.ConnectErrors += b.ConnectErrors
	a.ResponseErrors += b.ResponseErrors
	a.Retries += b.Retries
	a.Redispatches += b.Redispatches
	a.Discarded += b.Discarded
	a.BytesIn += b.BytesIn
	a.BytesOut += b.BytesOut
	a.QueueLen += b.QueueLen
	a.InFlight += b.InFlight
	return a
}

// subStats removes base's cumulative counters from st (gauges stay);
// an object absent from base, or whose counters restarted, keeps its own.
func subStats(st, base balancer.Stats) balancer.Stats {
	st = cloneStats(st)
	bf := map[string]balancer.Counters{}
	for _, f := range base.Frontends {
		bf[f.Name] = f.Counters
	}
	for i := range st.Frontends {
		st.Frontends[i].Counters = subCounters(st.Frontends[i].Counters, bf[st.Frontends[i].Name])
	}
	bb := map[string]balancer.BackendStats{}
	for _, b := range base.Backends {
		bb[b.Name] = b
	}
	for i := range st.Backends {
		b := bb[st.Backends[i].Name]
		st.Backends[i].Counters = subCounters(st.Backends[i].Counters, b.Counters)
		st.Backends[i].ResponseTime = subHistogram(st.Backends[i].ResponseTime, b.ResponseTime)
	}
	bs := map[config.ServerKey]balancer.ServerStats{}
	for _, s := range base.Servers {
		bs[s.Key] = s
	}
	for i := range st.Servers {
		s := bs[st.Servers[i].Key]
		st.Servers[i].Counters = subCounters(st.Servers[i].Counters, s.Counters)
		st.Servers[i].ResponseTime = subHistogram(st.Servers[i].ResponseTime, s.ResponseTime)
	}
	return st
}

func subCounters(a, b balancer.Counters) balancer.Counters {
	if a.Requests < b.Requests || a.TotalConns < b.TotalConns {
		return a // a new runtime since the clear: already counts from zero
	}
	sub := func(x, y uint64) uint64 {
		if x < y {
			return 0
		}
		return x - y
	}
	a.TotalConns -= b.TotalConns
	a.Requests -= b.Requests
	for i := range a.Responses {
		a.Responses[i] = sub(a.Responses[i], b.Responses[i])
	}
	a.ConnectErrors = sub(a.ConnectErrors, b.ConnectErrors)
	a.ResponseErrors = sub(a.ResponseErrors, b.ResponseErrors)
	a.Retries = sub(a.Retries, b.Retries)
	a.Redispatches = sub(a.Redispatches, b.Redispatches)
	a.Discarded = sub(a.Discarded, b.Discarded)
	a.BytesIn = sub(a.BytesIn, b.BytesIn)
	a.BytesOut = sub(a.BytesOut, b.BytesOut)
	return a
}

func subHistogram(a, b balancer.Histogram) balancer.Histogram {
	if a.Count() < b.Count() {
		return a
	}
	return a.Sub(b)
}

package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	bgppkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"

	"github.com/tandem-lb/tandem/config"
)

// communityGracefulShutdown is GRACEFUL_SHUTDOWN (RFC 8326), 65535:0.
const communityGracefulShutdown = 0xFFFF0000

// route is one announcement: a VIP's host route and its attributes.
type route struct {
	prefix      netip.Prefix // the VIP's address as a /32 or /128
	prepend     int          // extra copies of the own ASN in the AS path
	med         *uint32
	communities []uint32
	large       [][3]uint32
}

func (r route) equal(o route) bool {
	if r.prefix != o.prefix || r.prepend != o.prepend || (r.med == nil) != (o.med == nil) ||
		r.med != nil && *r.med != *o.med || len(r.communities) != len(o.communities) || len(r.large) != len(o.large) {
		return false
	}
	for i := range r.communities {
		if r.communities[i] != o.communities[i] {
			return false
		}
	}
	for i := range r.large {
		if r.large[i] != o.large[i] {
			return false
		}
	}
	return true
}

// gobgpServer is the embedded GoBGP speaker: the global config, the peers
// and the announced paths. Only the Speaker's loop calls its methods.
type gobgpServer struct {
	srv  *server.BgpServer
	asn  uint32
	live map[netip.Prefix]*api.Path // what is announced now
}

func startServer(ctx context.Context, cfg Config, logger *slog.Logger) (*gobgpServer, error) {
	srv := server.NewBgpServer(server.LoggerOption(slogLogger{logger}))
	// GoBGP's Serve loop has no stop: it idles once StopBgp has run.
	go srv.Serve()
	listen := int32(-1)
	for _, p := range cfg.Peers {
		if p.Passive {
			listen = int32(cfg.ListenPort)
		}
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: cfg.ASN, RouterId: cfg.RouterID, ListenPort: listen,
	}}); err != nil {
		return nil, fmt.Errorf("start bgp: %w", err)
	}
	s := &gobgpServer{srv: srv, asn: cfg.ASN, live: map[netip.Prefix]*api.Path{}}
	for _, p := range cfg.Peers {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerConf(p)}); err != nil {
			s.stop()
			return nil, fmt.Errorf("add bgp peer %s: %w", p.Address, err)
		}
	}
	return s, nil
}

func peerConf(p config.BGPPeer) *api.Peer {
	fams := []*api.AfiSafi{
		{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
		{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
	}
	peer := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address, PeerAsn: p.ASN, AuthPassword: p.Password},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: uint64(p.HoldTime / time.Second), KeepaliveInterval: uint64(p.Keepalive / time.Second),
			ConnectRetry: 1, IdleHoldTimeAfterReset: 1,
		}},
		Transport: &api.Transport{PassiveMode: p.Passive, RemotePort: uint32(p.Port)},
		AfiSafis:  fams,
	}
	if p.Multihop > 0 {
		peer.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.Multihop)}
	}
	return peer
}

// stop closes every session (a CEASE notification to each peer, so that
// routers withdraw at once rather than after the hold time).
func (s *gobgpServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.StopBgp(ctx, &api.StopBgpRequest{})
}

// set makes the announced routes exactly want (by prefix).
func (s *gobgpServer) set(ctx context.Context, want map[netip.Prefix]route, announced map[netip.Prefix]route) error {
	var errs []error
	for p := range announced {
		if _, ok := want[p]; ok {
			continue
		}
		if err := s.withdraw(ctx, p); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(announced, p)
	}
	for p, r := range want {
		if old, ok := announced[p]; ok && old.equal(r) {
			continue
		}
		if err := s.announce(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		announced[p] = r
	}
	if len(errs) > 0 {
		return fmt.Errorf("bgp routes: %v", errs)
	}
	return nil
}

func (s *gobgpServer) announce(ctx context.Context, r route) error {
	path, err := buildPath(r, s.asn)
	if err != nil {
		return err
	}
	if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: path}); err != nil {
		return fmt.Errorf("announce %s: %w", r.prefix, err)
	}
	s.live[r.prefix] = path
	return nil
}

func (s *gobgpServer) withdraw(ctx context.Context, p netip.Prefix) error {
	path := s.live[p]
	if path == nil {
		return nil
	}
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Path: path}); err != nil {
		return fmt.Errorf("withdraw %s: %w", p, err)
	}
	delete(s.live, p)
	return nil
}

// buildPath turns r into a GoBGP path originated by this node: next hop
// self (GoBGP puts the session's local address), origin IGP.
func buildPath(r route, asn uint32) (*api.Path, error) {
	attrs := []bgppkt.PathAttributeInterface{bgppkt.NewPathAttributeOrigin(bgppkt.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var nlri bgppkt.AddrPrefixInterface
	if r.prefix.Addr().Is4() {
		nlri = bgppkt.NewIPAddrPrefix(uint8(r.prefix.Bits()), r.prefix.Addr().String())
		attrs = append(attrs, bgppkt.NewPathAttributeNextHop("0.0.0.0"))
	} else {
		nlri = bgppkt.NewIPv6AddrPrefix(uint8(r.prefix.Bits()), r.prefix.Addr().String())
		attrs = append(attrs, bgppkt.NewPathAttributeMpReachNLRI("::", []bgppkt.AddrPrefixInterface{nlri}))
	}
	if r.prepend > 0 {
		as := make([]uint32, r.prepend)
		for i := range as {
			as[i] = asn
		}
		attrs = append(attrs, bgppkt.NewPathAttributeAsPath([]bgppkt.AsPathParamInterface{
			bgppkt.NewAs4PathParam(bgppkt.BGP_ASPATH_ATTR_TYPE_SEQ, as)}))
	}
	if r.med != nil {
		attrs = append(attrs, bgppkt.NewPathAttributeMultiExitDisc(*r.med))
	}
	if len(r.communities) > 0 {
		attrs = append(attrs, bgppkt.NewPathAttributeCommunities(r.communities))
	}
	if len(r.large) > 0 {
		var lc []*bgppkt.LargeCommunity
		for _, c := range r.large {
			lc = append(lc, bgppkt.NewLargeCommunity(c[0], c[1], c[2]))
		}
		attrs = append(attrs, bgppkt.NewPathAttributeLargeCommunities(lc))
	}
	path, err := apiutil.NewPath(nlri, false, attrs, time.Now())
	if err != nil {
		return nil, fmt.Errorf("build path for %s: %w", r.prefix, err)
	}
	return path, nil
}

// Session is one BGP peer's state as the speaker sees it.
type Session struct {
	Peer  string // address
	ASN   uint32
	State string // idle, connect, active, opensent, openconfirm, established
	// Since is when the session was established (zero unless established).
	Since time.Time
	// PrefixesSent counts the prefixes advertised to the peer.
	PrefixesSent uint64
	// LastError is the last notification or connection error, if known.
	LastError string
}

// sessions lists the peers' states, by address.
func (s *gobgpServer) sessions(ctx context.Context) ([]Session, error) {
	var out []Session
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		ss := Session{Peer: p.GetConf().GetNeighborAddress(), ASN: p.GetConf().GetPeerAsn()}
		if st := p.GetState(); st != nil {
			ss.State = sessionState(st.SessionState)
		}
		if ts := p.GetTimers().GetState(); ts != nil && ss.State == "established" && ts.Uptime != nil {
			ss.Since = ts.Uptime.AsTime()
		}
		for _, af := range p.GetAfiSafis() {
			ss.PrefixesSent += af.GetState().GetAdvertised()
		}
		out = append(out, ss)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out, err
}

func sessionState(s api.PeerState_SessionState) string {
	switch s {
	case api.PeerState_IDLE:
		return "idle"
	case api.PeerState_CONNECT:
		return "connect"
	case api.PeerState_ACTIVE:
		return "active"
	case api.PeerState_OPENSENT:
		return "opensent"
	case api.PeerState_OPENCONFIRM:
		return "openconfirm"
	case api.PeerState_ESTABLISHED:
		return "established"
	}
	return "unknown"
}

// slogLogger adapts slog to GoBGP's logger.
type slogLogger struct{ l *slog.Logger }

func attrs(f gobgplog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, fmt.Sprint(v))
	}
	return out
}

func (s slogLogger) Panic(msg string, f gobgplog.Fields) { s.l.Error(msg, attrs(f)...); panic(msg) }
func (s slogLogger) Fatal(msg string, f gobgplog.Fields) { s.l.Error(msg, attrs(f)...) }
func (s slogLogger) Error(msg string, f gobgplog.Fields) { s.l.Warn(msg, attrs(f)...) }
func (s slogLogger) Warn(msg string, f gobgplog.Fields)  { s.l.Info(msg, attrs(f)...) }
func (s slogLogger) Info(msg string, f gobgplog.Fields)  { s.l.Debug(msg, attrs(f)...) }
func (s slogLogger) Debug(msg string, f gobgplog.Fields) {}
func (s slogLogger) SetLevel(gobgplog.LogLevel)          {}
func (s slogLogger) GetLevel() gobgplog.LogLevel         { return gobgplog.InfoLevel }

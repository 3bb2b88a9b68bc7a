package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// linuxHost drives the VIP interface with netlink (addresses, link state)
// and raw packet sockets (announcements), in the agent's network namespace
// or in the one named by Deps.NetNS. It is used by the loop goroutine only.
type linuxHost struct {
	iface string
	ns    netns.NsHandle // netns.None() for the process's namespace
	nl    *netlink.Handle
	socks map[int]*linkSocket // by ethertype, opened on first use
	// listen receives ARP while the node probes the link (no quorum).
	listen *linkSocket
	buf    []byte
	// arpSaved holds the ARP sysctls parkAddr raised, by path, with the
	// values they had (park_linux.go).
	arpSaved map[string]int
}

// linkSocket is a packet socket bound to one interface.
type linkSocket struct {
	conn  *packet.Conn
	index int
	mac   net.HardwareAddr
}

func openHost(iface, nsPath string) (hostNet, error) {
	h := &linuxHost{iface: iface, ns: netns.None(), socks: map[int]*linkSocket{}}
	var err error
	if nsPath != "" {
		if h.ns, err = netns.GetFromPath(nsPath); err != nil {
			return nil, fmt.Errorf("open network namespace %s: %w", nsPath, err)
		}
		h.nl, err = netlink.NewHandleAt(h.ns)
	} else {
		h.nl, err = netlink.NewHandle()
	}
	if err != nil {
		h.ns.Close()
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	return h, nil
}

func (h *linuxHost) close() error {
	for _, s := range h.socks {
		s.conn.Close()
	}
	h.stopListening()
	h.nl.Close()
	if h.ns.IsOpen() {
		return h.ns.Close()
	}
	return nil
}

func (h *linuxHost) link() (netlink.Link, error) {
	l, err := h.nl.LinkByName(h.iface)
	if err != nil {
		return nil, fmt.Errorf("find interface %s: %w", h.iface, err)
	}
	return l, nil
}

func (h *linuxHost) replaceAddr(p netip.Prefix, lifetime time.Duration) error {
	l, err := h.link()
	if err != nil {
		return err
	}
	secs := max(int(lifetime/time.Second), 1)
	a := &netlink.Addr{IPNet: ipNet(p), ValidLft: secs, PreferedLft: secs}
	if p.Addr().Is6() {
		// No duplicate address detection: the address is usable at once
		// (a tentative address cannot be used or announced for ~1 s).
		a.Flags = unix.IFA_F_NODAD
	}
	if err := h.nl.AddrReplace(l, a); err != nil {
		return fmt.Errorf("replace address %s on %s: %w", p, h.iface, err)
	}
	return nil
}

func (h *linuxHost) removeAddr(p netip.Prefix) error {
	l, err := h.nl.LinkByName(h.iface)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil // no interface, no address
		}
		return fmt.Errorf("find interface %s: %w", h.iface, err)
	}
	err = h.nl.AddrDel(l, &netlink.Addr{IPNet: ipNet(p)})
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove address %s from %s: %w", p, h.iface, err)
	}
	return nil
}

func (h *linuxHost) listAddrs() ([]netip.Prefix, error) {
	l, err := h.link()
	if err != nil {
		return nil, err
	}
	addrs, err := h.nl.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", h.iface, err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

func (h *linuxHost) linkUp(name string) (bool, error) {
	l, err := h.nl.LinkByName(name)
	if err != nil {
		return false, fmt.Errorf("find interface %s: %w", name, err)
	}
	f := l.Attrs().RawFlags
	return f&unix.IFF_UP != 0 && f&unix.IFF_RUNNING != 0, nil
}

func (h *linuxHost) resolveAgain(name string) error {
	l, err := h.nl.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find interface %s: %w", name, err)
	}
	var errs []error
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		ns, err := h.nl.NeighList(l.Attrs().Index, family)
		if err != nil {
			errs = append(errs, fmt.Errorf("list neighbours of %s: %w", name, err))
			continue
		}
		for _, n := range ns {
			if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
				continue
			}
			if err := h.nl.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("delete unresolved neighbour %s on %s: %w", n.IP, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (h *linuxHost) announce(ip netip.Addr) error {
	if ip.Is4() {
		for _, op := range []arpOp{arpRequest, arpReply} {
			if err := h.send(etherTypeARP, ethBroadcast, func(mac net.HardwareAddr) ([]byte, error) {
				return buildGratuitousARP(mac, ip, op)
			}); err != nil {
				return fmt.Errorf("send gratuitous arp %s for %s on %s: %w", op, ip, h.iface, err)
			}
		}
		return nil
	}
	err := h.send(etherTypeIPv6, allNodesMAC, func(mac net.HardwareAddr) ([]byte, error) {
		return buildUnsolicitedNA(mac, ip)
	})
	if err != nil {
		return fmt.Errorf("send neighbor advertisement for %s on %s: %w", ip, h.iface, err)
	}
	return nil
}

func (h *linuxHost) probe(ip netip.Addr) error {
	l, err := h.link()
	if err != nil {
		return err
	}
	a := l.Attrs()
	if s := h.listen; s != nil && (s.index != a.Index || !slicesEqual(s.mac, a.HardwareAddr)) {
		h.stopListening() // the interface was recreated
	}
	if h.listen == nil {
		s, err := h.openSocket(a, etherTypeARP, nil)
		if err != nil {
			return fmt.Errorf("listen for arp on %s: %w", h.iface, err)
		}
		h.listen, h.buf = s, make([]byte, 128)
	}
	err = h.send(etherTypeARP, ethBroadcast, func(mac net.HardwareAddr) ([]byte, error) {
		return buildARPProbe(mac, ip)
	})
	if err != nil {
		return fmt.Errorf("send arp probe for %s on %s: %w", ip, h.iface, err)
	}
	return nil
}

// maxHeardPerCall bounds the frames heard reads in one call, so that an
// ARP storm cannot hold the reconcile loop.
const maxHeardPerCall = 512

func (h *linuxHost) heard() ([]claim, error) {
	s := h.listen
	if s == nil {
		return nil, nil
	}
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var out []claim
	var rerr error
	for range maxHeardPerCall {
		n := -1
		err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), h.buf, unix.MSG_DONTWAIT)
			return true // never wait: the loop reads again at its next step
		})
		if err != nil {
			return out, err
		}
		if rerr != nil || n < 0 {
			if errors.Is(rerr, unix.EAGAIN) {
				rerr = nil
			}
			return out, rerr
		}
		if c, ok := parseARPClaim(h.buf[:n]); ok && !slicesEqual(c.mac, s.mac) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (h *linuxHost) stopListening() {
	if h.listen != nil {
		h.listen.conn.Close()
		h.listen = nil
	}
}

// send builds a frame for the interface's current MAC and writes it to
// dst. The socket is reopened when the interface changed (recreated, new
// MAC) or a write failed.
func (h *linuxHost) send(etherType int, dst net.HardwareAddr, build func(net.HardwareAddr) ([]byte, error)) error {
	l, err := h.link()
	if err != nil {
		return err
	}
	a := l.Attrs()
	s := h.socks[etherType]
	if s != nil && (s.index != a.Index || !slicesEqual(s.mac, a.HardwareAddr)) {
		s.conn.Close()
		delete(h.socks, etherType)
		s = nil
	}
	if s == nil {
		if s, err = h.openSocket(a, etherType, dropAll); err != nil {
			return err
		}
		h.socks[etherType] = s
	}
	frame, err := build(s.mac)
	if err != nil {
		return err
	}
	if _, err := s.conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		s.conn.Close()
		delete(h.socks, etherType)
		return err
	}
	return nil
}

// dropAll is a socket filter that accepts no packet: the sockets only
// send, so nothing should queue up on them.
var dropAll = mustAssemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

// openSocket opens a raw packet socket on the interface, inside the
// host's namespace: a socket belongs to the namespace of the thread that
// creates it, so it is created from a thread locked into the namespace.
// filter (nil: none) selects the packets it receives.
func (h *linuxHost) openSocket(a *netlink.LinkAttrs, etherType int, filter []bpf.RawInstruction) (*linkSocket, error) {
	ifi := &net.Interface{Index: a.Index, Name: a.Name, HardwareAddr: a.HardwareAddr, MTU: a.MTU}
	var conn *packet.Conn
	err := inNetNS(h.ns, func() error {
		var err error
		conn, err = packet.Listen(ifi, packet.Raw, etherType, &packet.Config{Filter: filter})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open packet socket on %s: %w", a.Name, err)
	}
	return &linkSocket{conn: conn, index: a.Index, mac: append(net.HardwareAddr(nil), a.HardwareAddr...)}, nil
}

// inNetNS runs fn on a fresh OS thread that has entered ns (or directly
// when ns is netns.None()). If the thread cannot be put back into its
// namespace it stays locked, and the runtime destroys it when the
// goroutine exits, so no other goroutine ever runs in the wrong namespace.
func inNetNS(ns netns.NsHandle, fn func() error) error {
	if !ns.IsOpen() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("read the thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("restore network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func slicesEqual(a, b net.HardwareAddr) bool { return string(a) == string(b) }

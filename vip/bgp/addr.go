package bgp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
)

// host is what the Speaker needs of the local network stack: binding the
// VIPs' addresses and reading links. Tests replace it.
type host interface {
	bind(p netip.Prefix) error
	unbind(p netip.Prefix) error
	linkUp(name string) (bool, error)
}

// netlinkHost binds addresses on one interface (lo, or a dummy it creates).
type netlinkHost struct {
	iface string
}

func (h netlinkHost) link() (netlink.Link, error) {
	l, err := netlink.LinkByName(h.iface)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		d := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: h.iface}}
		if err := netlink.LinkAdd(d); err != nil {
			return nil, fmt.Errorf("create dummy interface %s: %w", h.iface, err)
		}
		if l, err = netlink.LinkByName(h.iface); err != nil {
			return nil, fmt.Errorf("interface %s: %w", h.iface, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("interface %s: %w", h.iface, err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(l); err != nil {
			return nil, fmt.Errorf("set %s up: %w", h.iface, err)
		}
	}
	return l, nil
}

func addrOf(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
}

func (h netlinkHost) bind(p netip.Prefix) error {
	l, err := h.link()
	if err != nil {
		return err
	}
	if err := netlink.AddrReplace(l, addrOf(p)); err != nil {
		return fmt.Errorf("bind %s on %s: %w", p, h.iface, err)
	}
	return nil
}

func (h netlinkHost) unbind(p netip.Prefix) error {
	l, err := netlink.LinkByName(h.iface)
	if err != nil {
		return fmt.Errorf("interface %s: %w", h.iface, err)
	}
	if err := netlink.AddrDel(l, addrOf(p)); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("unbind %s from %s: %w", p, h.iface, err)
	}
	return nil
}

func (h netlinkHost) linkUp(name string) (bool, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return false, fmt.Errorf("interface %s: %w", name, err)
	}
	a := l.Attrs()
	return a.Flags&net.FlagUp != 0 && (a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown), nil
}

package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// arpSetting is one of the VIP interface's ARP sysctls and the least
// value it has while an IPv4 address is parked.
type arpSetting struct {
	name string
	min  int
}

// parkARP: reply only for addresses of the interface itself, and never
// source an ARP request from an address it does not have (the kernel's
// ip-sysctl.rst; the settings LVS-DR real servers use for the same reason).
func parkARP() []arpSetting { return []arpSetting{{"arp_ignore", 1}, {"arp_announce", 2}} }

// parkAddr moves p to lo as a host address with the given lifetime, then
// removes it from the VIP interface.
func (h *linuxHost) parkAddr(p netip.Prefix, lifetime time.Duration) error {
	if p.Addr().Is4() {
		if err := h.quietARP(); err != nil {
			return err
		}
	}
	lo, err := h.nl.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find interface lo: %w", err)
	}
	secs := max(int(lifetime/time.Second), 1)
	a := &netlink.Addr{IPNet: ipNet(hostPrefix(p)), ValidLft: secs, PreferedLft: secs}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := h.nl.AddrReplace(lo, a); err != nil {
		return fmt.Errorf("park address %s on lo: %w", p.Addr(), err)
	}
	return h.removeAddr(p)
}

// unparkAddr removes p's host address from lo; with last, the VIP
// interface's ARP settings are put back as they were.
func (h *linuxHost) unparkAddr(p netip.Prefix, last bool) error {
	var errs []error
	lo, err := h.nl.LinkByName("lo")
	if err == nil {
		err = h.nl.AddrDel(lo, &netlink.Addr{IPNet: ipNet(hostPrefix(p))})
	}
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, fmt.Errorf("remove parked address %s from lo: %w", p.Addr(), err))
	}
	if last {
		errs = append(errs, h.restoreARP())
	}
	return errors.Join(errs...)
}

func hostPrefix(p netip.Prefix) netip.Prefix { return netip.PrefixFrom(p.Addr(), p.Addr().BitLen()) }

// quietARP raises the VIP interface's ARP settings to parkARP where they
// are lower, noting the values it found; restoreARP writes those back.
func (h *linuxHost) quietARP() error {
	return inNetNS(h.ns, func() error {
		for _, s := range parkARP() {
			path := filepath.Join("/proc/sys/net/ipv4/conf", h.iface, s.name)
			cur, err := readSysctl(path)
			if err != nil {
				return err
			}
			// The kernel applies the larger of conf/all and the
			// interface's value (ip-sysctl.rst): a host (or a container,
			// which cannot write /proc/sys) set that way needs no write.
			all, err := readSysctl(filepath.Join("/proc/sys/net/ipv4/conf/all", s.name))
			if err != nil {
				return err
			}
			if max(cur, all) >= s.min {
				continue
			}
			if err := os.WriteFile(path, []byte(strconv.Itoa(s.min)), 0o644); err != nil {
				return fmt.Errorf("set %s: %w", path, err)
			}
			if h.arpSaved == nil {
				h.arpSaved = map[string]int{}
			}
			if _, ok := h.arpSaved[path]; !ok {
				h.arpSaved[path] = cur
			}
		}
		return nil
	})
}

func (h *linuxHost) restoreARP() error {
	if len(h.arpSaved) == 0 {
		return nil
	}
	return inNetNS(h.ns, func() error {
		var errs []error
		for path, v := range h.arpSaved {
			if err := os.WriteFile(path, []byte(strconv.Itoa(v)), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", path, err))
			}
		}
		clear(h.arpSaved)
		return errors.Join(errs...)
	})
}

func readSysctl(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}

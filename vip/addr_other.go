//go:build !linux

package vip

import (
	"errors"
)

// openHost: VIPs need netlink and packet sockets, which only Linux has.
func openHost(iface, nsPath string) (hostNet, error) {
	return nil, errors.New("open vip interface: virtual IPs are only supported on Linux")
}

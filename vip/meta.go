package vip

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Meta is what a node gossips about its VIPs.
type Meta struct {
	// Fault is set while the node has no quorum: it holds nothing and must
	// not be elected.
	Fault bool
	// VIPs maps a VIP name to the node's standing for it. A node without an
	// entry for a VIP is not a candidate for it.
	VIPs map[string]VIPMeta
}

// VIPMeta is one node's standing for one VIP.
type VIPMeta struct {
	// Priority is the effective priority, 1-255: the configured one plus a
	// track script's weight.
	Priority int
	// Eligible: the node's frontends for the VIP are ready, its tracked
	// interfaces are up, its track script passes and its view is fresh.
	Eligible bool
	// Holding: the node has the address on its interface.
	Holding bool
	// Releasing: the node is handing the VIP over (Release) and must not be
	// elected.
	Releasing bool
}

// MaxMetaSize is the size the JSON encoding of EncodeMeta's map stays
// under for up to 15 VIPs with names of up to 10 characters (each entry
// costs its name plus at most 8 bytes); the gossip layer allows 512 bytes
// for a node's whole meta. The Manager logs a warning past it.
const MaxMetaSize = 300

// Meta keys. Short, because the whole gossip meta of a node is small.
const (
	metaKeyVIPs  = "v"  // "name:priority[flags],..." flags: e eligible, h holding, r releasing
	metaKeyFault = "vf" // "1" while the node has no quorum
)

// EncodeMeta encodes m into the short-keyed map the agent gossips. VIPs
// are sorted by name, so equal metas encode equally.
func EncodeMeta(m Meta) map[string]string {
	out := map[string]string{}
	if m.Fault {
		out[metaKeyFault] = "1"
	}
	if len(m.VIPs) == 0 {
		return out
	}
	names := make([]string, 0, len(m.VIPs))
	for n := range m.VIPs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		v := m.VIPs[n]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(v.Priority))
		if v.Eligible {
			b.WriteByte('e')
		}
		if v.Holding {
			b.WriteByte('h')
		}
		if v.Releasing {
			b.WriteByte('r')
		}
	}
	out[metaKeyVIPs] = b.String()
	return out
}

// DecodeMeta decodes what EncodeMeta produced. Keys it does not know are
// ignored, so the agent may gossip other keys beside these; a map without
// VIP keys (a witness, an older node) decodes to an empty Meta.
func DecodeMeta(kv map[string]string) (Meta, error) {
	var m Meta
	switch f := kv[metaKeyFault]; f {
	case "", "0":
	case "1":
		m.Fault = true
	default:
		return Meta{}, fmt.Errorf("decode vip meta: key %q: want 1 or 0 (got %q)", metaKeyFault, f)
	}
	s := kv[metaKeyVIPs]
	if s == "" {
		return m, nil
	}
	m.VIPs = map[string]VIPMeta{}
	for _, entry := range strings.Split(s, ",") {
		name, v, err := decodeVIPMeta(entry)
		if err != nil {
			return Meta{}, fmt.Errorf("decode vip meta: entry %q: %w", entry, err)
		}
		m.VIPs[name] = v
	}
	return m, nil
}

func decodeVIPMeta(entry string) (string, VIPMeta, error) {
	name, rest, ok := strings.Cut(entry, ":")
	if !ok || name == "" {
		return "", VIPMeta{}, fmt.Errorf("want name:priority[flags]")
	}
	digits := strings.TrimRight(rest, "ehr")
	prio, err := strconv.Atoi(digits)
	if err != nil || prio < 0 || prio > 255 {
		return "", VIPMeta{}, fmt.Errorf("want a priority 0-255 (got %q)", digits)
	}
	v := VIPMeta{Priority: prio}
	for _, f := range rest[len(digits):] {
		switch f {
		case 'e':
			v.Eligible = true
		case 'h':
			v.Holding = true
		case 'r':
			v.Releasing = true
		}
	}
	return name, v, nil
}

// metaSize is the size of kv as the gossip layer encodes it (JSON).
func metaSize(kv map[string]string) int {
	b, _ := json.Marshal(kv)
	return len(b)
}

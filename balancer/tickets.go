package balancer

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// ticketPeriod is how long a session ticket key encrypts new tickets. A
// node holds the key of the period before (tickets it issued still
// resume) and of the one after (a node whose clock runs ahead).
const ticketPeriod = 12 * time.Hour

// ticketKeys derives the session ticket keys of the period holding now
// from secret: the current one first (it encrypts), then the previous and
// the next (they decrypt). Every node with the same secret and a clock
// within a period derives the same keys.
func ticketKeys(secret []byte, now time.Time) [][32]byte {
	epoch := now.Unix() / int64(ticketPeriod/time.Second)
	keys := make([][32]byte, 0, 3)
	for _, e := range []int64{epoch, epoch - 1, epoch + 1} {
		var info [8]byte
		binary.BigEndian.PutUint64(info[:], uint64(e))
		k, err := hkdf.Key(sha256.New, secret, []byte("tandem TLS session tickets"), string(info[:]), 32)
		if err != nil {
			panic("hkdf of 32 bytes: " + err.Error()) // cannot happen with SHA-256
		}
		keys = append(keys, [32]byte(k))
	}
	return keys
}

// setTicketKeys installs the cluster's ticket keys on every TLS frontend
// of the current config (called by Apply and every minute by maintain).
func (b *Balancer) setTicketKeys(now time.Time) {
	if len(b.cfg.TicketSecret) == 0 {
		return
	}
	keys := ticketKeys(b.cfg.TicketSecret, now)
	for _, fe := range b.cur.Load().frontends {
		if fe.tls != nil {
			fe.tls.conf.SetSessionTicketKeys(keys)
		}
	}
}

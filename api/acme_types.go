package api

import "time"

// ACMEStatus is where one name of the cluster config's acme section
// stands, as this node's ACME manager sees it.
type ACMEStatus struct {
	Name string `json:"name"`
	// NotAfter and Serial describe the certificate in the store (zero:
	// none obtained yet).
	NotAfter time.Time `json:"not_after,omitzero"`
	Serial   string    `json:"serial,omitempty"`
	// Error is the last failure to obtain, renew or publish it, kept until
	// a success; Failures counts them in a row.
	Error     string    `json:"error,omitempty"`
	ErrorTime time.Time `json:"error_time,omitzero"`
	Failures  int       `json:"failures,omitempty"`
	// NextCheck is when the manager looks at the name again (the renewal
	// window, or the next try after a failure).
	NextCheck time.Time `json:"next_check,omitzero"`
	// Ordering is the node that holds the name's order lock now (it
	// orders or renews the certificate); empty when none does.
	Ordering string `json:"ordering,omitempty"`
}

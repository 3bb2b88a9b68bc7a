package api

import "time"

// DeployRecord is a rolling deploy's progress as recorded in the replicated
// state: who runs it, where, which server, which step, since when.
type DeployRecord struct {
	ID      string    `json:"id"`      // run ID; the same ID continues (resume) a run
	Backend string    `json:"backend"` //
	Server  string    `json:"server,omitempty"`
	Step    string    `json:"step"`           // e.g. start, drain, wait, maint, hook, healthy, ready, done, failed, abort-requested, aborted
	Host    string    `json:"host,omitempty"` // user@host of the deploy client
	Node    string    `json:"node,omitempty"` // node that accepted the record
	Since   time.Time `json:"since"`
	Done    bool      `json:"done,omitempty"` // finished, failed or aborted: a new deploy may start
}

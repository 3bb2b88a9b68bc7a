package config

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ServerKey names a server cluster-wide. Every package that keys by server
// uses it, never a "backend/server" string. As a JSON object it is
// {"backend": …, "server": …}; as a map key (and in text) it is
// "backend/server", unambiguous because names have no "/".
type ServerKey struct {
	Backend string `json:"backend"`
	Server  string `json:"server"`
}

func (k ServerKey) String() string { return k.Backend + "/" + k.Server }

// MarshalText writes "backend/server" (JSON map keys).
func (k ServerKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads "backend/server".
func (k *ServerKey) UnmarshalText(b []byte) error {
	be, srv, ok := strings.Cut(string(b), "/")
	if !ok || be == "" || srv == "" {
		return fmt.Errorf("invalid server key %q: want backend/server", b)
	}
	*k = ServerKey{Backend: be, Server: srv}
	return nil
}

// serverKeyObject is ServerKey's JSON object form, without the methods.
type serverKeyObject struct {
	Backend string `json:"backend"`
	Server  string `json:"server"`
}

// MarshalJSON keeps the object form for values (MarshalText alone would
// make it a string in the Raft log and the API).
func (k ServerKey) MarshalJSON() ([]byte, error) { return json.Marshal(serverKeyObject(k)) }

// UnmarshalJSON reads the object form, and the text form: encoding/json
// hands a map key to UnmarshalJSON, quoted, when a type has both methods.
func (k *ServerKey) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return k.UnmarshalText([]byte(s))
	}
	var o serverKeyObject
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*k = ServerKey(o)
	return nil
}

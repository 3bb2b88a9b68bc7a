package config

import "encoding/json"

// Clone returns a deep copy of c.
func (c *Cluster) Clone() *Cluster {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic("config: clone: " + err.Error()) // every field is plain data
	}
	var out Cluster
	if err := json.Unmarshal(b, &out); err != nil {
		panic("config: clone: " + err.Error())
	}
	return &out
}

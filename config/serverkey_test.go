package config

import (
	"encoding/json"
	"testing"
)

func TestServerKeyJSONForms(t *testing.T) {
	k := ServerKey{Backend: "web", Server: "s1"}
	b, err := json.Marshal(struct {
		Key  ServerKey         `json:"key"`
		ByID map[ServerKey]int `json:"by"`
	}{k, map[ServerKey]int{k: 1}})
	if err != nil {
		t.Fatal(err)
	}
	// The encodings the Raft log, snapshots and state.json always had.
	if want := `{"key":{"backend":"web","server":"s1"},"by":{"web/s1":1}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var back struct {
		Key  ServerKey         `json:"key"`
		ByID map[ServerKey]int `json:"by"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Key != k || back.ByID[k] != 1 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	var bad map[ServerKey]int
	if err := json.Unmarshal([]byte(`{"noslash":1}`), &bad); err == nil {
		t.Fatal("a key without / was accepted")
	}
}

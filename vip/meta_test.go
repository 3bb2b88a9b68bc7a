package vip

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"empty", Meta{}},
		{"fault only", Meta{Fault: true}},
		{"all flags", Meta{VIPs: map[string]VIPMeta{
			"web":      {Priority: 150, Eligible: true, Holding: true, Releasing: true},
			"api.v2":   {Priority: 1},
			"db_1-x":   {Priority: 255, Holding: true},
			"internal": {Priority: 100, Eligible: true},
		}}},
		{"fault with vips", Meta{Fault: true, VIPs: map[string]VIPMeta{"web": {Priority: 100, Releasing: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMeta(EncodeMeta(tt.meta))
			if err != nil {
				t.Fatalf("DecodeMeta: %v", err)
			}
			if diff := cmp.Diff(tt.meta, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeMetaFormat(t *testing.T) {
	got := EncodeMeta(Meta{Fault: true, VIPs: map[string]VIPMeta{
		"web": {Priority: 150, Eligible: true, Holding: true},
		"api": {Priority: 100, Releasing: true},
	}})
	want := map[string]string{"vf": "1", "v": "api:100r,web:150eh"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EncodeMeta (-want +got):\n%s", diff)
	}
}

func TestMetaSizeBound(t *testing.T) {
	m := Meta{Fault: true, VIPs: map[string]VIPMeta{}}
	for i := range 15 {
		m.VIPs[fmt.Sprintf("vip-name%02d", i)] = VIPMeta{Priority: 255, Eligible: true, Holding: true, Releasing: true}
	}
	if n := metaSize(EncodeMeta(m)); n > MaxMetaSize {
		t.Errorf("15 VIPs with 10-character names encode to %d bytes, want <= %d", n, MaxMetaSize)
	}
}

func TestDecodeMetaIgnoresOtherKeys(t *testing.T) {
	got, err := DecodeMeta(map[string]string{"role": "voter", "api": "127.0.0.1:8404"})
	if err != nil {
		t.Fatalf("DecodeMeta: %v", err)
	}
	if diff := cmp.Diff(Meta{}, got); diff != "" {
		t.Errorf("DecodeMeta (-want +got):\n%s", diff)
	}
}

func TestDecodeMetaRejectsGarbage(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"no colon", map[string]string{"v": "web"}, "name:priority"},
		{"no name", map[string]string{"v": ":100"}, "name:priority"},
		{"no priority", map[string]string{"v": "web:eh"}, "priority"},
		{"priority too high", map[string]string{"v": "web:256"}, "priority"},
		{"negative priority", map[string]string{"v": "web:-1"}, "priority"},
		{"bad fault", map[string]string{"vf": "yes"}, "vf"},
		{"empty entry", map[string]string{"v": "web:1,,api:2"}, "name:priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMeta(tt.kv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeMeta(%v) = %v, want an error mentioning %q", tt.kv, err, tt.want)
			}
		})
	}
}

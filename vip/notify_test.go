package vip

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNotifyEnv(t *testing.T) {
	got := notifyEnv([]string{"PATH=/bin"}, notification{vip: "web", address: "10.0.0.100/24", node: "lb1", state: StateHolder})
	want := []string{"PATH=/bin", "TANDEM_VIP=web", "TANDEM_VIP_ADDRESS=10.0.0.100/24", "TANDEM_VIP_STATE=holder", "TANDEM_NODE=lb1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifyEnv (-want +got):\n%s", diff)
	}
}

func TestNotifierRunsTheCommandInOrder(t *testing.T) {
	out := t.TempDir() + "/notify.log"
	m, err := New(Config{Node: "lb1", Interface: "eth0",
		NotifyCommand: `echo "$TANDEM_VIP $TANDEM_VIP_ADDRESS $TANDEM_VIP_STATE $TANDEM_NODE" >> ` + out}, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	q := make(chan notification, 3)
	for _, s := range []State{StateBackup, StateHolder, StateFault} {
		q <- notification{vip: "web", address: "10.0.0.100/24", node: "lb1", state: s}
	}
	close(q)
	m.runNotifier(context.Background(), q)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"web 10.0.0.100/24 backup lb1",
		"web 10.0.0.100/24 holder lb1",
		"web 10.0.0.100/24 fault lb1",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(string(b)), "\n")); diff != "" {
		t.Errorf("notify log (-want +got):\n%s", diff)
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// TestPrintStatusListsTerminals: status shows each terminal's owner,
// command, who is attached and how long it has been idle or detached.
func TestPrintStatusListsTerminals(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	st := control.Status{
		Label: "job build", Now: now, StartedAt: now.Add(-time.Minute), Deadline: now.Add(time.Hour),
		Terminals: []control.TerminalInfo{
			{ID: 1, Owner: "alice", Command: "bash", LastActive: now.Add(-5 * time.Second),
				Clients: []control.ClientInfo{{User: "alice"}, {User: "bob", ReadOnly: true}}},
			{ID: 2, Owner: "bob", Command: "bash", LastActive: now.Add(-time.Minute), DetachedSince: now.Add(-30 * time.Second),
				Clients: []control.ClientInfo{}},
		},
	}
	var out bytes.Buffer
	printStatus(&out, st)
	for _, want := range []string{
		"terminals (pitstop attach ID [--read-only]):",
		"  1   alice            bash     attached: alice, bob (read-only); idle 5s",
		"  2   bob              bash     detached 30s, idle 1m0s",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

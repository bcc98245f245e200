package agent

import (
	"strings"
	"testing"
	"time"
)

func TestPeerText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"publickey", "publickey"},
		{"##[warning title=x]moved", `#\x23[warning title=x]moved`},
		{"###[group]", `#\x23#[group]`},
		{"::stop-commands::x", `:\x3astop-commands:\x3ax`},
		{":::", `:\x3a:`},
		{"a\nb\r\x00c\\", `a\x0ab\x0d\x00c\x5c`},
		{"é", `\xc3\xa9`},
	} {
		if got := peerText(tt.in, 100); got != tt.want {
			t.Errorf("peerText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := peerText(strings.Repeat("##[", 100_000), maxPeerName)
	if len(long) > maxPeerName+40 || strings.Contains(long, "##") || !strings.HasSuffix(long, "more bytes)") {
		t.Errorf("a long name: %q", long)
	}
}

func TestPreLoginBudget(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newPreLoginBudget(func() time.Time { return now })
	for i := range preLoginBurst {
		if ok, _ := b.take(); !ok {
			t.Fatalf("line %d refused within the burst", i+1)
		}
	}
	for range 5 {
		if ok, _ := b.take(); ok {
			t.Fatal("a line past the burst was allowed")
		}
	}
	now = now.Add(preLoginRefill)
	if ok, dropped := b.take(); !ok || dropped != 5 {
		t.Errorf("after a refill: %v, %d dropped; want true, 5", ok, dropped)
	}
	if ok, _ := b.take(); ok {
		t.Error("one refill allowed two lines")
	}
}

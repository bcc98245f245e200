package wire

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
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
		if got := PeerText(tt.in, 100); got != tt.want {
			t.Errorf("PeerText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := PeerText(strings.Repeat("##[", 100_000), MaxPeerName)
	if len(long) > MaxPeerName+40 || strings.Contains(long, "##") || !strings.HasSuffix(long, "more bytes)") {
		t.Errorf("a long name: %q", long)
	}
}

func TestPeerError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{io.EOF, "the client closed the connection"},
		{fmt.Errorf("handshake: %w", io.EOF), "the client closed the connection"},
		{errors.New("no common algorithm; client offered: [::x ##[y]"), `no common algorithm; client offered: [:\x3ax #\x23[y]`},
		{errors.New("bad \xff byte"), `bad ? byte`},
	} {
		if got := PeerError(tt.err); got != tt.want {
			t.Errorf("PeerError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if got := PeerError(errors.New(strings.Repeat("a", 10_000))); len(got) > MaxPeerError+40 || !strings.HasSuffix(got, "more bytes)") {
		t.Errorf("a long error is not cut: %d bytes", len(got))
	}
}

func TestEscapeWorkflowCommand(t *testing.T) {
	for _, tt := range []struct{ in, data, property string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"pitstop: x, y", "pitstop: x, y", "pitstop%3A x%2C y"},
		{"%0A", "%250A", "%250A"},
	} {
		if got := EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := EscapeProperty(tt.in); got != tt.property {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

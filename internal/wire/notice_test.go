package wire

import (
	"strings"
	"testing"
)

// TestNoticeRoundTrip: what a pause writes, ParseNotice reads back, with
// a proof and without; GitHub stores the annotation unescaped, so the
// test undoes the runner's escaping as GitHub does.
func TestNoticeRoundTrip(t *testing.T) {
	for _, want := range []Notice{
		{Label: "after step 4 (Run tests)", SSHCommand: "ssh -p 40123 runner@203.0.113.7", HostKeyFingerprint: "SHA256:abc",
			KnownHosts: "[203.0.113.7]:40123 ssh-ed25519 AAAA", Proof: "eyJ.x.y"},
		{Label: "before step 1: 100% done, a:b", SSHCommand: "ssh -J s@relay runner@pitstop", HostKeyFingerprint: "SHA256:def",
			KnownHosts: "pitstop ssh-ed25519 BBBB"},
	} {
		cmd := want.Command()
		rest, ok := strings.CutPrefix(cmd, "::notice title=")
		if !ok || !strings.HasSuffix(rest, "\n") {
			t.Fatalf("command %q", cmd)
		}
		title, message, ok := strings.Cut(strings.TrimSuffix(rest, "\n"), "::")
		if !ok || strings.Contains(message, "\n") {
			t.Fatalf("command %q: want one line, the title, then :: and the message", cmd)
		}
		unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
		got, ok := ParseNotice(unescape.Replace(title), unescape.Replace(message))
		if !ok || got != want {
			t.Errorf("read back %+v, %v; want %+v", got, ok, want)
		}
	}
	for _, c := range []struct{ title, message string }{
		{"something else is paused", "ssh x   (host key y)\nknown_hosts: z"},
		{"pitstop: build", "ssh x   (host key y)\nknown_hosts: z"},
		{"pitstop: build is paused", "ssh x   (host key y)"},
		{"pitstop: build is paused", "\nknown_hosts: z"},
	} {
		if n, ok := ParseNotice(c.title, c.message); ok {
			t.Errorf("ParseNotice(%q, %q) = %+v, want not a pause's notice", c.title, c.message, n)
		}
	}
}

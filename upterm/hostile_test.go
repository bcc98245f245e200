package upterm_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/upterm"
)

// A relay's text reaches the job log, which the runner reads for
// workflow commands ("::" at a line's start, "##[" anywhere): what the
// relay says must come out escaped and short, however it is sent.

// forged is relay text that would be a workflow command if it reached the
// log as it is, followed by 200 KB.
var forged = "x\n::error::forged by the relay\n##[group]hidden" + strings.Repeat("A", 200<<10)

// harmless fails the test if s could start a workflow command, breaks a
// line, or is long.
func harmless(t *testing.T, what, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\r\n") || strings.Contains(s, "::") || strings.Contains(s, "##") || len(s) > 1000 {
		t.Errorf("%s is not fit for the job log (%d bytes): %.300q", what, len(s), s)
	}
}

func TestHostileRefusalOfTheSession(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{RefuseCreate: forged})
	h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey())}
	_, err := h.Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "create a session: refused: x\\x0a:\\x3aerror") {
		t.Fatalf("Dial: %v; want the refusal, escaped", err)
	}
	harmless(t, "the refusal", err.Error())
}

// TestHostileSessionNames: a session ID or SSH user outside the safe
// characters, or too long, is refused with an error that says so.
func TestHostileSessionNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts uptermtest.Options
		want string
	}{
		{"workflow command in the ID", uptermtest.Options{SessionID: "abc##[warning]x"}, "unusable session ID"},
		{"line break in the ID", uptermtest.Options{SessionID: "abc\n::error::x"}, "unusable session ID"},
		{"long ID", uptermtest.Options{SessionID: strings.Repeat("a", 200<<10)}, "unusable session ID"},
		{"workflow command in the user", uptermtest.Options{SSHUser: "abc##[warning]x"}, "unusable SSH user"},
		{"two colons in the user", uptermtest.Options{SSHUser: "abc::error::x"}, "unusable SSH user"},
		{"shell text in the user", uptermtest.Options{SSHUser: "abc;rm -rf ~"}, "unusable SSH user"},
		{"long user", uptermtest.Options{SSHUser: "a:" + strings.Repeat("b", 200<<10)}, "unusable SSH user"},
		{"forged user", uptermtest.Options{SSHUser: forged}, "unusable SSH user"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			relay := uptermtest.Start(t, tt.opts)
			h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey())}
			s, err := h.Dial(context.Background())
			if err == nil {
				s.Client.Close()
				t.Fatalf("a session named %q / %q was taken", s.ID, s.SSHUser)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dial: %v; want %q", err, tt.want)
			}
			harmless(t, "the error", err.Error())
		})
	}
}

// TestHostileChannelsAndCertificates: what the host refuses on the
// relay's side is reported escaped: a channel type a guest made up (the
// relay passes every channel through), and the certificate the relay logs
// in with, when its principals or critical options are not ones the host
// takes.
func TestHostileChannelsAndCertificates(t *testing.T) {
	t.Run("channel type", func(t *testing.T) {
		relay := uptermtest.Start(t, uptermtest.Options{})
		actor := testutil.NewSSHSigner(t)
		s, ref := dialHost(t, relay, actor.PublicKey())
		g, err := guest(t, relay, s.SSHUser, actor)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.OpenChannel(forged, nil); err == nil {
			t.Fatal("a made-up channel type was opened")
		}
		checkRefusals(t, ref, "channel (only direct-tcpip")
	})
	for _, tt := range []struct {
		name string
		opts uptermtest.Options
		want string
	}{
		{"principals", uptermtest.Options{CertPrincipals: []string{forged}}, "principal"},
		{"critical options", uptermtest.Options{CertCriticalOptions: map[string]string{forged: ""}}, "critical option"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			relay := uptermtest.Start(t, tt.opts)
			actor := testutil.NewSSHSigner(t)
			s, ref := dialHost(t, relay, actor.PublicKey())
			g, err := guest(t, relay, s.SSHUser, actor)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := g.Dial("tcp", "pitstop:22"); err == nil {
				c.Close()
				t.Fatal("the relay's login with a bad certificate went through")
			}
			checkRefusals(t, ref, tt.want)
		})
	}
}

// checkRefusals waits for a refusal that mentions want, and checks that
// every refusal is fit for the log.
func checkRefusals(t *testing.T, ref *refusals, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ref.has(want) {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal mentions %q: %.500q", want, ref.list)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for _, r := range ref.list {
		harmless(t, "a refusal", r)
	}
}

// forgedName is forged, short enough for an SSH packet's 256 KB, ten
// times over.
var forgedName = forged[:20<<10]

// TestHostileAlgorithmNames: a relay that offers algorithms under made-up
// names fails the handshake, and the error, which quotes its lists, is
// escaped.
func TestHostileAlgorithmNames(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, uptermtest.ServerVersion+"\r\n") //nolint:errcheck // the client reports what it got
		c.Write(kexInit(forgedName))                       //nolint:errcheck // as above
		io.Copy(io.Discard, c)                             //nolint:errcheck // until the client gives up
	}()
	h := &upterm.Host{Addr: ln.Addr().String(), HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	_, err = h.Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "log in") {
		t.Fatalf("Dial: %v; want the handshake to fail", err)
	}
	if !strings.Contains(err.Error(), "no common algorithm") || !strings.Contains(err.Error(), "more bytes)") {
		t.Errorf("Dial: %v; want the handshake error, which quotes the relay's algorithms, cut short", err)
	}
	harmless(t, "the handshake error", err.Error())
}

// kexInit is an SSH_MSG_KEXINIT packet, unencrypted, that offers name for
// every algorithm.
func kexInit(name string) []byte {
	payload := []byte{20} // SSH_MSG_KEXINIT
	payload = append(payload, make([]byte, 16)...)
	for i := 0; i < 10; i++ {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(name)))
		payload = append(payload, name...)
	}
	payload = append(payload, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, payload...)
	return append(pkt, make([]byte, pad)...)
}

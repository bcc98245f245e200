package forward

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// The Forwarder is tested here as an SSH server serves it, with Go's SSH
// client (x/crypto) on the other side; agent's tests drive it with the
// real OpenSSH client through the whole agent.

// forwardServer serves f on loopback with gliderlabs, as the agent does,
// and returns a client logged in to it and the audit events written so
// far.
func forwardServer(t *testing.T, f *Forwarder) (*gossh.Client, func() []map[string]any) {
	t.Helper()
	var logs testutil.Buffer
	trail, err := audit.Open(zerolog.New(&logs), "")
	if err != nil {
		t.Fatal(err)
	}
	f.Audit = func(ssh.Context) audit.Log { return trail.Root() }
	if f.Closing == nil {
		f.Closing = func() bool { return false }
	}
	host := testutil.NewSSHSigner(t)
	srv := &ssh.Server{
		HostSigners:      []ssh.Signer{host},
		Handler:          func(s ssh.Session) {},
		PublicKeyHandler: func(ssh.Context, ssh.PublicKey) bool { return true },
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session": ssh.DefaultSessionHandler,
		},
	}
	f.Serve(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	c, err := gossh.Dial("tcp", ln.Addr().String(), &gossh.ClientConfig{
		User:            "runner",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(testutil.NewSSHSigner(t))},
		HostKeyCallback: gossh.FixedHostKey(host.PublicKey()),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	events := func() []map[string]any { return testutil.JSONLines(t, logs.String()) }
	return c, events
}

// echoListener accepts connections on loopback and sends back what each
// one sends, until it closes its side.
func echoListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveEcho(ln)
	return ln
}

// serveEcho sends back what each connection to ln sends, until ln is
// closed.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			io.Copy(c, c) //nolint:errcheck // the test checks what came back
			c.Close()
		}()
	}
}

// roundTrip writes msg on c, closes c's writing side and reads what comes
// back until the end.
func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() //nolint:errcheck // the read below says
	}
	c.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // both kinds support it
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitEvent waits for an audit event named event whose fields include
// want, and returns it.
func waitEvent(t *testing.T, events func() []map[string]any, event string, want map[string]any) map[string]any {
	t.Helper()
	var found map[string]any
	testutil.Eventually(10*time.Second, func() bool {
		for _, e := range events() {
			if e["event"] != event {
				continue
			}
			ok := true
			for k, v := range want {
				ok = ok && e[k] == v
			}
			if ok {
				found = e
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Fatalf("no %s event with %v in the audit trail: %v", event, want, events())
	}
	return found
}

// "ssh -L": the channel reaches its destination both ways, and the
// audit trail has the forward and its end with the bytes each way.
func TestLocalForward(t *testing.T) {
	echo := echoListener(t)
	c, events := forwardServer(t, &Forwarder{Local: true})
	conn, err := c.Dial("tcp", echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := roundTrip(t, conn, "hello, runner"); got != "hello, runner" {
		t.Errorf("through the forward: %q, want the echo", got)
	}
	waitEvent(t, events, audit.Forward, map[string]any{"forward": "local", "destination": echo.Addr().String()})
	waitEvent(t, events, audit.ForwardEnd, map[string]any{"forward": "local", "bytes_to_runner": 13.0, "bytes_to_client": 13.0})
}

// A local forward is refused when it is turned off or the server is
// closing, and the refusal is audited; nothing is dialled.
func TestLocalForwardRefused(t *testing.T) {
	for name, f := range map[string]*Forwarder{
		"off":     {Local: false},
		"closing": {Local: true, Closing: func() bool { return true }},
	} {
		t.Run(name, func(t *testing.T) {
			echo := echoListener(t)
			c, events := forwardServer(t, f)
			if conn, err := c.Dial("tcp", echo.Addr().String()); err == nil {
				conn.Close()
				t.Fatal("the forward was opened")
			}
			waitEvent(t, events, audit.ForwardRefused, map[string]any{"forward": "local"})
		})
	}
}

// "ssh -R": the listener is on loopback whatever address the client
// asked for, connections to it reach the client, and cancelling closes
// it.
func TestRemoteForwardOnLoopback(t *testing.T) {
	c, events := forwardServer(t, &Forwarder{Remote: true})
	ln, err := c.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	e := waitEvent(t, events, audit.Forward, map[string]any{"forward": "remote"})
	listen, _ := e["listen"].(string)
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); listen != want {
		t.Errorf("listening on %q, want %s (loopback, the port given to the client)", listen, want)
	}
	go serveEcho(ln)
	conn, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := roundTrip(t, conn, "from the runner"); got != "from the runner" {
		t.Errorf("through the remote forward: %q, want the echo", got)
	}
	waitEvent(t, events, audit.ForwardEnd, map[string]any{"forward": "remote", "bytes_to_runner": 15.0, "bytes_to_client": 15.0})
	if err := ln.Close(); err != nil {
		t.Fatalf("cancel the forward: %v", err)
	}
	if !testutil.Eventually(10*time.Second, func() bool {
		conn, err := net.Dial("tcp", listen)
		if err == nil {
			conn.Close()
		}
		return err != nil
	}) {
		t.Error("the listener is still open after the client cancelled it")
	}
}

// Remote forwarding is off unless asked for.
func TestRemoteForwardOff(t *testing.T) {
	c, events := forwardServer(t, &Forwarder{})
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Fatal("a remote forward was opened")
	}
	waitEvent(t, events, audit.ForwardRefused, map[string]any{"forward": "remote"})
}

package forward

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
)

// Forwarding, as OpenSSH's sshd does it with its defaults tightened:
//
//   - "ssh -L" (direct-tcpip) is on unless the agent's
//     Config.NoLocalForwarding ([Forwarder].Local false): it reaches what
//     a shell on the runner could reach anyway.
//   - "ssh -R" (tcpip-forward) is off unless Config.AllowRemoteForwarding
//     ([Forwarder].Remote), and then listens on the runner's loopback
//     interface only, whatever address the client asks for (sshd's
//     GatewayPorts no): a port opened by a debugging session must not be
//     reachable from the network.
//   - "ssh -A" is off unless Config.AllowAgentForwarding: with it, anything
//     on the runner can sign with the user's keys while they are logged in.
//     agent serves it, with [Splice], since its terminals follow whoever
//     is attached.
//
// Every forwarded connection is in the audit trail, opened and closed,
// with the bytes it carried; never its contents.

// Forwarder serves "ssh -L" and "ssh -R" for an SSH server (see Serve).
// Set its fields before the server starts; it is safe for concurrent use
// from then on.
type Forwarder struct {
	// Local allows "ssh -L".
	Local bool
	// Remote allows "ssh -R", on the loopback interface.
	Remote bool
	// Closing reports that the server is shutting down: new forwards
	// are refused from then on.
	Closing func() bool
	// Audit is the audit log of the connection ctx belongs to, with who
	// logged in once one has.
	Audit func(ctx ssh.Context) audit.Log

	remote remoteForwards
}

// Serve registers f with srv: DirectTCPIP for direct-tcpip channels,
// RemoteForward for the tcpip-forward and cancel-tcpip-forward requests.
// Call it before srv starts.
func (f *Forwarder) Serve(srv *ssh.Server) {
	if srv.ChannelHandlers == nil {
		srv.ChannelHandlers = map[string]ssh.ChannelHandler{}
	}
	if srv.RequestHandlers == nil {
		srv.RequestHandlers = map[string]ssh.RequestHandler{}
	}
	srv.ChannelHandlers["direct-tcpip"] = f.DirectTCPIP
	srv.RequestHandlers["tcpip-forward"] = f.RemoteForward
	srv.RequestHandlers["cancel-tcpip-forward"] = f.RemoteForward
}

// dialTimeout bounds connecting to an "ssh -L" destination.
const dialTimeout = 10 * time.Second

// Splice copies between an SSH channel and a socket both ways until both
// directions end, or ctx (the SSH connection) ends. It returns the bytes
// written to the socket and to the channel.
func Splice(ctx context.Context, ch gossh.Channel, c net.Conn) (toConn, toChan int64) {
	// A destination that stays silent would otherwise keep its copy
	// going after the SSH connection is gone.
	stop := context.AfterFunc(ctx, func() {
		c.Close()
		ch.Close()
	})
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		toConn, _ = io.Copy(c, ch)
		if hc, ok := c.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite() //nolint:errcheck // the peer may be gone
		} else {
			c.Close()
		}
	}()
	toChan, _ = io.Copy(ch, c)
	ch.CloseWrite() //nolint:errcheck // the client may be gone
	<-done
	ch.Close()
	c.Close()
	return toConn, toChan
}

// forwardEnded records the end of a forwarded connection; al names the
// forward.
func forwardEnded(al audit.Log, kind string, since time.Time, toConn, toChan int64) {
	al.Info(audit.ForwardEnd, kind+" forward closed", "bytes_to_runner", toConn, "bytes_to_client", toChan,
		"duration", time.Since(since).Round(time.Millisecond).String())
}

// DirectTCPIP serves "ssh -L": a connection from the runner to
// DestAddr:DestPort for each channel.
func (f *Forwarder) DirectTCPIP(_ *ssh.Server, _ *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	var d struct {
		DestAddr   string
		DestPort   uint32
		OriginAddr string
		OriginPort uint32
	}
	if err := gossh.Unmarshal(newChan.ExtraData(), &d); err != nil {
		newChan.Reject(gossh.ConnectionFailed, "malformed direct-tcpip request") //nolint:errcheck // the client may be gone
		return
	}
	dest := net.JoinHostPort(d.DestAddr, strconv.FormatUint(uint64(d.DestPort), 10))
	al := f.Audit(ctx).With("forward", "local", "destination", dest)
	if !f.Local || f.Closing() {
		al.Info(audit.ForwardRefused, "refused a local forward (ssh -L): local forwarding is off")
		newChan.Reject(gossh.Prohibited, "port forwarding is disabled") //nolint:errcheck // the client may be gone
		return
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := (&net.Dialer{}).DialContext(dctx, "tcp", dest)
	cancel()
	if err != nil {
		al.Info(audit.ForwardRefused, "local forward (ssh -L) could not connect", zerolog.ErrorFieldName, err)
		newChan.Reject(gossh.ConnectionFailed, err.Error()) //nolint:errcheck // the client may be gone
		return
	}
	ch, reqs, err := newChan.Accept()
	if err != nil {
		c.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	since := time.Now()
	al.Info(audit.Forward, "local forward (ssh -L) to "+dest)
	toConn, toChan := Splice(ctx, ch, c)
	forwardEnded(al, "local", since, toConn, toChan)
}

// remoteForwards are the listeners opened for "ssh -R".
type remoteForwards struct {
	mu sync.Mutex
	// ln holds each connection's listeners by the address the client
	// uses to cancel them.
	ln map[*gossh.ServerConn]map[string]net.Listener
}

func (r *remoteForwards) add(conn *gossh.ServerConn, key string, ln net.Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		r.ln = map[*gossh.ServerConn]map[string]net.Listener{}
	}
	if r.ln[conn] == nil {
		r.ln[conn] = map[string]net.Listener{}
	}
	r.ln[conn][key] = ln
}

// remove forgets and returns a listener; nil if there is none.
func (r *remoteForwards) remove(conn *gossh.ServerConn, key string) net.Listener {
	r.mu.Lock()
	defer r.mu.Unlock()
	ln := r.ln[conn][key]
	delete(r.ln[conn], key)
	if len(r.ln[conn]) == 0 {
		delete(r.ln, conn)
	}
	return ln
}

// RemoteForward serves the global requests tcpip-forward and
// cancel-tcpip-forward ("ssh -R").
func (f *Forwarder) RemoteForward(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	var r struct {
		BindAddr string
		BindPort uint32
	}
	if err := gossh.Unmarshal(req.Payload, &r); err != nil {
		return false, nil
	}
	conn, _ := ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn)
	if conn == nil {
		return false, nil
	}
	key := net.JoinHostPort(r.BindAddr, strconv.FormatUint(uint64(r.BindPort), 10))
	if req.Type == "cancel-tcpip-forward" {
		if ln := f.remote.remove(conn, key); ln != nil {
			ln.Close()
			return true, nil
		}
		return false, nil
	}
	al := f.Audit(ctx).With("forward", "remote", "requested", key)
	if !f.Remote || f.Closing() {
		al.Info(audit.ForwardRefused, "refused a remote forward (ssh -R): remote forwarding is off (--allow-remote-forwarding)")
		return false, nil
	}
	if r.BindPort > 65535 {
		return false, nil
	}
	// Loopback only, whatever was asked for: see the top of this file.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(r.BindPort), 10)))
	if err != nil {
		al.Info(audit.ForwardRefused, "remote forward (ssh -R) could not listen", zerolog.ErrorFieldName, err)
		return false, nil
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port) //nolint:gosec // a TCP port fits
	if r.BindPort == 0 {
		// The client cancels with the port it was given.
		key = net.JoinHostPort(r.BindAddr, strconv.FormatUint(uint64(port), 10))
	}
	f.remote.add(conn, key, ln)
	al = al.With("listen", ln.Addr().String())
	al.Info(audit.Forward, "remote forward (ssh -R) listening on "+ln.Addr().String())
	stop := context.AfterFunc(ctx, func() {
		f.remote.remove(conn, key)
		ln.Close()
	})
	go func() {
		defer stop()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRemoteForward(ctx, conn, al, c, r.BindAddr, port)
		}
	}()
	return true, gossh.Marshal(struct{ Port uint32 }{port})
}

// serveRemoteForward carries one connection to an "ssh -R" listener
// back to the client.
func serveRemoteForward(ctx ssh.Context, conn *gossh.ServerConn, al audit.Log, c net.Conn, bindAddr string, port uint32) {
	origin := c.RemoteAddr().(*net.TCPAddr)
	payload := gossh.Marshal(struct {
		DestAddr   string
		DestPort   uint32
		OriginAddr string
		OriginPort uint32
	}{bindAddr, port, origin.IP.String(), uint32(origin.Port)}) //nolint:gosec // a TCP port fits
	ch, reqs, err := conn.OpenChannel("forwarded-tcpip", payload)
	if err != nil {
		c.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	since := time.Now()
	al = al.With("origin", origin.String())
	al.Info(audit.Forward, "connection to a remote forward (ssh -R)")
	toConn, toChan := Splice(ctx, ch, c)
	forwardEnded(al, "remote", since, toConn, toChan)
}

// Package upterm is the host's side of upterm's relay protocol, as uptermd
// (github.com/owenthereal/upterm) speaks it, reduced to what pitstop needs:
// carry SSH connections to a host that accepts no incoming connections.
//
// A Host dials uptermd as an upterm host does: an SSH connection with the
// client version "SSH-2.0-upterm-host-client", a fresh key to log in with,
// the global request "upterm-create-session@upterm.dev" (a protobuf
// CreateSessionRequest naming the host's keys and the guests' keys the
// relay should admit), and a reverse tunnel,
// "streamlocal-forward@openssh.com" on the session ID. Guests then log in
// to the relay as the session's SSH user. For each guest the relay opens a
// "forwarded-streamlocal@openssh.com" channel back through the tunnel and,
// inside it, logs in to the host's own SSH server with a user certificate
// it signs with its host key; the certificate's "upterm-auth-request"
// extension names the key the guest used.
//
// uptermd terminates SSH on both sides: it reads everything in that
// connection. So the host's SSH server here allows nothing but
// "direct-tcpip" channels (what ssh -J and ssh -W open), and hands out
// their payload, through Session.Accept, as a net.Conn. The caller serves
// its own SSH server on those connections; users check that server's host
// key, and the relay only ever carries the ciphertext of that inner
// connection. Sessions, commands, other channel types and global requests
// on the relay's side are refused.
//
// The package knows nothing of pitstop's agent: no keys of its own beyond
// the throwaway key it presents to the relay, no logging but a hook, no
// retrying. It does not import upterm's packages (they depend on a fork of
// golang.org/x/crypto); the protocol is small enough to speak directly.
package upterm

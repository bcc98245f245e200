// Package relay makes an SSH server reachable on a machine that accepts no
// incoming connections, such as a GitHub-hosted runner, through a relay it
// dials: an OpenSSH server the team runs (a bastion), which it asks for a
// remote forward, or an uptermd, upterm's relay, where it registers as an
// upterm host (through the upterm package).
//
// [Listen] connects to the relay a [Config] describes and returns a
// net.Listener for the server to serve on, and a [Relay] handle that keeps
// the connection up for as long as the server runs, reconnecting when it is
// lost, says how users reach the server through it ([Relay.Access],
// [Relay.Follow]) and ends it ([Relay.Close]). Either way the relay only
// carries an SSH connection from the user to the server, encrypted end to
// end and checked against the server's host key.
//
// It does not serve SSH itself, decide who may log in, nor decide whether
// a relay is needed: the caller (the agent) does, and passes in what the
// relay needs of it as [Options]. It does not import the agent.
package relay

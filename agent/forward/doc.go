// Package forward is the agent's TCP forwarding: "ssh -L" (direct-tcpip
// channels, dialled from the runner), "ssh -R" (tcpip-forward requests,
// listened for on the runner's loopback interface only), the listeners
// each connection opened, the copying both ways ([Splice]), and the audit
// of every forward and forwarded connection through agent/audit. The
// agent's SSH server hands it its channels and requests ([Forwarder]);
// agent forwarding ("ssh -A") stays with the agent, which uses [Splice]
// for it.
//
// It never imports agent.
package forward

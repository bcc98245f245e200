// Package wire defines the documents the agent and the pitstop CLI
// exchange, and the escaping of text that reaches a job's log from a peer.
// Each is defined here once so that the side that writes a document and
// the side that reads it cannot drift apart.
//
// It owns:
//   - the ready file ([Ready], [WriteReady], [ReadReady], [LoadReady])
//     the agent writes once it listens, read by pitstop act, the hold
//     step, tests and the bench;
//   - the check run's payload ([CheckRunInfo], [CheckRunPrefix]) the agent
//     publishes on GitHub and pitstop run, rerun and ssh read back;
//   - the ::notice:: annotation ([Notice], [ParseNotice]) that shows the
//     connect details on the run's page, which pitstop run and ssh read
//     when there is no check run;
//   - the hold request ([HoldRequest]) the end-of-job step of a detached
//     pause sends over the control socket;
//   - the defaults both sides quote ([DefaultWaitTimeout],
//     [DefaultReconnectGrace]);
//   - escaping for the runner's workflow commands ([EscapeData],
//     [EscapeProperty]) and for peer text in the log ([PeerText],
//     [PeerError]).
//
// It does not own how these documents travel (the control socket's
// protocol is in agent, the GitHub API in forge and ghrun), what the CLI
// prints for its own users (ghrun's --output json), nor any policy built on
// them: it only encodes, decodes and checks their shape. It imports
// nothing of pitstop, so every package may use it.
package wire

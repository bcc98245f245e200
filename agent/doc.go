// Package agent is the SSH server that runs inside a paused CI job.
//
// It owns everything that happens while the job is held: the SSH server
// itself (a fresh host key, an explicit list of modern
// algorithms, public-key authentication only, limits on connections that
// have not logged in), the sessions a user opens (a shell on a pty, an exec
// command or sftp, started in the job's workspace with the step's
// environment) and the port forwards, what of it goes into the audit trail, the
// server side of the control socket behind "pitstop continue", "pitstop
// extend" and "pitstop status", the pause lifecycle (wait for a first
// connection, hold while someone works, end on continue, on the last
// shell's exit, on time-outs or cancellation), and what goes into the job
// log, the run's annotations and the step summary.
//
// It does not parse flags (cmd/pitstop does), knows nothing about workflow
// files (see workflows and injector), and does not install or fetch itself
// onto a runner (agent/action.yml does). It decides whether users reach it
// through a relay, but the relay connection itself is the relay package's.
// Who may log in and debug is agent/access's; the requests that ask the
// forge for users' keys and permissions, and that publish the pause's
// check run, are the forge package's.
//
// Its sub-packages sit below it and never import it: agent/access has
// the access rules (who may log in: the triggering user's published
// keys, plus keys and users given explicitly; who may debug: their
// permission on the repository, untrusted pull requests) and the Keyring
// the server admits; agent/audit writes the audit trail (its events, to
// the job log and the audit file); agent/clock is the time the timeouts keep (the real
// clock, and the fake one tests advance); agent/control is the control
// protocol (transport, requests, Status and Step, and the clients,
// "pitstop attach" too); agent/limits holds back connections that have
// not logged in (the server asks it at each stage); agent/forward serves
// "ssh -L" and "ssh -R"; agent/shell has the shells' rules (default
// shell, PATH lookups, Windows command lines); agent/sftpfs is the file
// system the sftp subsystem serves (agent serves it and audits);
// agent/term runs the sessions' programs (process groups and ptys on
// Unix, job objects and pseudo consoles on Windows) and keeps the shared
// terminals (the shell, its clients, the screen a reattach is redrawn
// from), which the agent starts, joins and audits; agent/proc follows
// the job's processes from outside.
//
// The entry point is [Run], configured by a [Config] whose zero value means
// the defaults. The control socket's clients are agent/control's, the
// attach client (control.RunAttach) too; agent serves them. [ReadJob] says
// what the job's environment tells about where it runs, for callers that
// must know before Run starts (colour in the log, act as the parent
// process); they hand what it read to Run in Config.Job, so it is read
// once. Run watches Config.WatchPID with agent/proc, the one process
// watcher.
//
// Run builds the server in one step (startServer: every listener made
// and serving, or nothing left behind), and stop is the one place the
// SSH and control listeners close. The control socket's requests go to
// one controlHandler, the server.
//
// With Config.Detached the pause runs next to the job instead of holding
// it (detached.go): the job's last step sends a [HoldRequest] with
// control.Hold, and only then does the agent hold the job for the people
// connected.
package agent

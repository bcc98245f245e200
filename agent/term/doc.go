// Package term runs what an SSH session asks for: programs on pipes or on
// a pty, and the shared terminals that outlive the connections showing
// them.
//
// The process layer: [RunProgram] runs a [Program] with a session's I/O
// until it exits, the connection drops or the agent stops it, and says
// how it ended ([Outcome]). On Unix the program leads a process group
// (on a pty, a session) that signals and hang-ups reach; on Windows it
// runs in a job object that ends everything it started, on a pseudo
// console (ConPTY) when it has a pty, with Ctrl-C raised by a helper
// process ([RunConsoleHelper], which pitstop's main calls first).
//
// The terminals: a [Terminal] is an interactive shell on a pty that
// outlives the connections showing it, as under tmux or screen. Its
// [Client]s (SSH sessions, or "pitstop attach" on the control socket)
// attach and leave; one that attaches later gets the [Screen] redrawn,
// kept by a charmbracelet/x/vt emulator that a goroutine of its own feeds
// (terminal_feed.go); the shell is hung up once the terminal has been
// left detached for its grace period. [Terminals] lists the live ones.
// The goroutine reading the shell's output queues it for each client's
// writer, or writes a lone client's echo itself and hands the pty to a
// new reader if that write stalls (terminal_inline.go).
// [ApplyModes] sets the terminal modes of an SSH pty request on a pty.
//
// On Linux a pty's master is waited on in poll(2) by the goroutine that
// reads or writes it, on its own thread (pty_linux.go): an echo then
// goes out without a detour through the runtime's poller. Elsewhere it
// stays in the poller (pty_bsd.go).
//
// It knows nothing of the SSH server, the pause or access: the agent
// decides which terminal a session joins, starts it, counts it as a shell
// for the pause and audits the events; what ties a terminal to the
// server (the banner, "pitstop new" and "pitstop attach", the control
// socket's attach) stays there.
package term

// Package term holds the terminal plumbing below the agent's shared
// terminals: the [Screen] a terminal's output is kept on (a
// charmbracelet/x/vt emulator bounded so that no output costs more than
// the screen is worth, rendered for a client that attaches later), and
// [ApplyModes], which sets the terminal modes of an SSH pty request on a
// pty.
//
// It does not own the terminals themselves (the shell on a pty, its
// clients, the feeder goroutine, the grace period), nor opening a pty or
// a Windows pseudo console: those are still the agent's (terminal*.go,
// process_*.go).
package term

package term

import "github.com/gliderlabs/ssh"

// Program is what a session runs.
type Program struct {
	Argv  []string
	Env   []string
	Dir   string
	Pty   *Pty              // non-nil: run on a pty of this kind
	WinCh <-chan ssh.Window // the pty's new sizes
}

// Pty is a session's "pty-req" (RFC 4254 6.2).
type Pty struct {
	Term   string
	Window ssh.Window
	// Modes are the encoded terminal modes (RFC 4254 8), applied to the
	// pty by ApplyModes.
	Modes []byte
}

// Outcome is how a session's program ended.
type Outcome struct {
	Status  int   // exit status sent to the client
	Dropped bool  // the connection or channel went away before the program ended
	Err     error // the program could not be started
}

package agent

import "github.com/gliderlabs/ssh"

// program is what a session runs.
type program struct {
	argv  []string
	env   []string
	dir   string
	pty   *ptyRequest       // non-nil: run on a pty of this kind
	winCh <-chan ssh.Window // the pty's new sizes
}

// outcome is how a session's program ended.
type outcome struct {
	status  int   // exit status sent to the client
	dropped bool  // the connection or channel went away before the program ended
	err     error // the program could not be started
}

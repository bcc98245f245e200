//go:build !unix && !windows

package term

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
)

// DrainGrace is how long a client may take to get the last output; see
// process_unix.go.
const DrainGrace = 500 * time.Millisecond

// signals is empty: there are no sessions to signal here (see RunProgram).
var signals = map[ssh.Signal]syscall.Signal{}

// startTerminal is not implemented on this platform yet, like RunProgram.
func startTerminal(*Terminal, Program, *Client, func(*Terminal)) error {
	return fmt.Errorf("terminals are not supported on %s yet", runtime.GOOS)
}

// hangUpKills is false: there are no terminals to hang up here.
const hangUpKills = false

// HangUp does nothing: there are no terminals here.
func (t *Terminal) HangUp()               {}
func (t *Terminal) hangUpLocked()         {}
func (t *Terminal) signal(syscall.Signal) {}
func setWindow(*os.File, ssh.Window)      {}

// ptyMaster is the terminal side the agent holds.
type ptyMaster = *os.File

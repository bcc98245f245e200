//go:build !unix && !windows

package agent

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
)

// drainGrace is how long a client may take to get the last output; see
// process_unix.go.
const drainGrace = 500 * time.Millisecond

// signals is empty: there are no sessions to signal here (see runProgram).
var signals = map[ssh.Signal]syscall.Signal{}

// startTerminal is not implemented on this platform yet, like runProgram.
func startTerminal(*terminal, program, *termClient, func(*terminal)) error {
	return fmt.Errorf("terminals are not supported on %s yet", runtime.GOOS)
}

// hangUpKills is false: there are no terminals to hang up here.
const hangUpKills = false

func (t *terminal) hangUp()               {}
func (t *terminal) hangUpLocked()         {}
func (t *terminal) signal(syscall.Signal) {}
func setWindow(*os.File, ssh.Window)      {}

// ptyMaster is the terminal side the agent holds.
type ptyMaster = *os.File

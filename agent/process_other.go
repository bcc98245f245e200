//go:build !unix && !windows

package agent

import (
	"fmt"
	"runtime"

	"github.com/gliderlabs/ssh"
)

// sessionsSupported says whether runProgram works here.
const sessionsSupported = false

// runProgram is not implemented on this platform yet: sessions need
// process groups and ptys, which the Unix implementation relies on.
func runProgram(ssh.Session, program, <-chan struct{}) outcome {
	return outcome{status: 255, err: fmt.Errorf("sessions are not supported on %s yet", runtime.GOOS)}
}

//go:build !unix && !windows

package term

import (
	"fmt"
	"runtime"

	"github.com/gliderlabs/ssh"
)

// Supported says whether RunProgram works here.
const Supported = false

// RunProgram is not implemented on this platform yet: sessions need
// process groups and ptys, which the Unix implementation relies on.
func RunProgram(ssh.Session, Program, <-chan struct{}) Outcome {
	return Outcome{Status: 255, Err: fmt.Errorf("sessions are not supported on %s yet", runtime.GOOS)}
}

//go:build unix

package actrun

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own, out of reach of
// the terminal's Ctrl-C; Run passes interrupts on itself.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

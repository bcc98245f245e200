//go:build unix

package actrun

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own, out of reach of
// the terminal's Ctrl-C; Run passes interrupts on itself. On Linux, act
// also gets SIGTERM if pitstop act dies without a chance to pass anything
// on (SIGKILL), so that it cancels the job rather than run on alone.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

// endWithParent has cmd (ssh) ended when pitstop act dies without a
// chance to end it (SIGKILL), on Linux: an ssh left behind would go on
// reading the terminal the user's shell has taken back. It stays in the
// terminal's process group, where it must be to read it.
func endWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	setParentDeathSignal(cmd.SysProcAttr)
}

// killGroup kills act and every process of its group: what it started
// for the job (the agent, the steps' commands) unless they made groups of
// their own.
func killGroup(cmd *exec.Cmd) {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}

func isHangup(sig os.Signal) bool { return sig == syscall.SIGHUP }

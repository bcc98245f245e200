//go:build unix

package ghfake

import (
	"os/exec"
	"syscall"
)

// startOwnGroup puts act in a process group of its own, so that killGroup
// also ends the job's processes act started.
func startOwnGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills act and everything in its process group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

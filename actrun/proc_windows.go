//go:build windows

package actrun

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing on Windows: a console Ctrl-C goes to every
// process attached to the console, act included, and cannot be forwarded
// (os.Process.Signal supports only Kill there).
func setProcessGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func endWithParent(*exec.Cmd) {}

func isHangup(os.Signal) bool { return false }

func processStart(int) string { return "" }

// ownerAlive cannot tell on Windows, so no container is taken for an
// orphan there.
func ownerAlive(int, string) bool { return true }

func pidNamespace() string { return "" }

//go:build unix && !linux

package actrun

import (
	"errors"
	"syscall"
)

// setParentDeathSignal does nothing where the kernel has no such signal;
// act is still signalled on every exit pitstop act sees.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// processStart is not known here; ownerAlive goes by the PID alone.
func processStart(int) string { return "" }

// ownerAlive reports whether a process with this PID runs.
func ownerAlive(pid int, _ string) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func pidNamespace() string { return "" }

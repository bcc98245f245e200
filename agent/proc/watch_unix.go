//go:build unix

package proc

import (
	"errors"
	"syscall"
)

// killGone reports whether signal 0 finds no process pid. EPERM means it
// exists, owned by someone else. A zombie counts as alive here: signal 0
// cannot tell it apart.
func killGone(pid int) bool {
	if pid <= 0 {
		return false // a process group, not a process
	}
	err := syscall.Kill(pid, 0)
	return err != nil && !errors.Is(err, syscall.EPERM)
}

//go:build !linux

package term

import "syscall"

// signalSession reaches the shell's process group only (see signalGroup)
// where there is no /proc to find the rest of its session in.
func signalSession(leader int, sig syscall.Signal) {}

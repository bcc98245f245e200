package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// protectAgentProcess makes the agent's process non-dumpable. Sessions
// run as the agent's own Unix user, and to that user /proc/PID/environ
// and /proc/PID/mem of the agent are normally readable: a logged-in user
// could read the API token and the relay key out of them. A process that
// is not dumpable has those files owned by root and refuses ptrace from
// its own user. Children are not affected: execve makes them dumpable
// again, so sessions, gdb in a session and "pitstop status" work as
// before. Root, and so anyone with sudo, can still read everything.
func protectAgentProcess() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the agent process non-dumpable: %w", err)
	}
	return nil
}

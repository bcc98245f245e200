package term

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// signalSession sends sig to every process in the session that leader
// started. A shell on a pty leads its own session, and the jobs it puts
// in the background each get a process group of their own, out of reach
// of signalGroup: an interactive shell passes its SIGHUP on to them, but
// one that dies before it has done so (SIGKILL, or a signal racing its
// handler) would leave them running past the pause. The session stays
// theirs after the shell is gone, so it finds them all.
func signalSession(leader int, sig syscall.Signal) {
	if leader <= 0 {
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if sessionOf(pid) == leader {
			syscall.Kill(pid, sig) //nolint:errcheck // it may be gone already
		}
	}
}

// sessionOf reads a process's session id from /proc/PID/stat, or -1.
func sessionOf(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (state, ppid, pgrp, session).
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 4 {
		return -1
	}
	sid, err := strconv.Atoi(f[3])
	if err != nil {
		return -1
	}
	return sid
}

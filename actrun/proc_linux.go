package actrun

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }

// processStart is when process pid started, in clock ticks after boot
// (field 22 of /proc/PID/stat), or "" when it cannot be read.
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// from after its closing one, where field 3 begins.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// ownerAlive reports whether process pid runs and, when start is known,
// is the one that started then rather than a later one given its PID.
func ownerAlive(pid int, start string) bool {
	got := processStart(pid)
	if got == "" {
		return false
	}
	return start == "" || got == start
}

// pidNamespace names this process's PID namespace ("pid:[4026531836]").
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}

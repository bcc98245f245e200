package proc

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// processGone reports whether the process pid has ended: it does not
// exist, or it is a zombie (state Z in /proc/PID/stat), which signal 0
// would still find. Where /proc cannot be read it falls back to signal 0.
// A pid of 0 or less is not gone: it names no process, and signal 0 would
// reach a process group instead.
func processGone(pid int) bool {
	if pid <= 0 {
		return false // no process; see Watch
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		if os.IsNotExist(err) {
			if _, err := os.Stat("/proc/self/stat"); err == nil {
				return true // /proc works and has no such process
			}
		}
		return killGone(pid)
	}
	// The state follows the command name, which is in parentheses and
	// may hold anything, so it is read after the last ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return killGone(pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) == 0 {
		return killGone(pid)
	}
	// Z is a zombie; X (dead) is only seen in the instant before the
	// entry disappears.
	return string(f[0]) == "Z" || string(f[0]) == "X"
}

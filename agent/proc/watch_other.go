//go:build unix && !linux

package proc

// processGone reports whether the process pid has ended. Without /proc
// it asks with signal 0, which still finds a zombie: a watched process
// that has exited counts as gone only once its parent has reaped it.
func processGone(pid int) bool { return killGone(pid) }

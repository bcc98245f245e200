//go:build !windows

package proc

// RunnerPID finds the process that runs the job on Windows only
// (watch_windows.go): elsewhere the action's shell names it itself
// (--watch-pid $PPID).
func RunnerPID(int) (pid int, ok bool) { return 0, false }

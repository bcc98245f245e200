//go:build !windows

package term

// ConsoleHelperArg is the first argument of pitstop's console helper,
// which exists on Windows only (console_windows.go).
const ConsoleHelperArg = "__pitstop-console"

// RunConsoleHelper does nothing here: programs get their terminal from
// the pty itself.
func RunConsoleHelper([]string) {}

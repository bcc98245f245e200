//go:build windows

package actrun

import "os/exec"

// setProcessGroup does nothing on Windows: a console Ctrl-C goes to every
// process attached to the console, act included, and cannot be forwarded
// (os.Process.Signal supports only Kill there).
func setProcessGroup(cmd *exec.Cmd) {}

//go:build unix && !linux

package actrun

import "syscall"

// setParentDeathSignal does nothing where the kernel has no such signal;
// act is still signalled on every exit pitstop act sees.
func setParentDeathSignal(*syscall.SysProcAttr) {}

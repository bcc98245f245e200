//go:build unix && !linux && !darwin

package agent

import (
	"fmt"
	"os"
	"runtime"
)

// applyModes is not implemented here yet: the termios ioctls and field
// sizes differ per system. Sessions then get the pty's default modes.
func applyModes(_ *os.File, modes []byte) error {
	if len(modes) == 0 {
		return nil
	}
	return fmt.Errorf("set terminal modes: not supported on %s yet", runtime.GOOS)
}

//go:build unix && !linux && !darwin

package term

import (
	"fmt"
	"os"
	"runtime"
)

// ApplyModes is not implemented here yet: the termios ioctls and field
// sizes differ per system. Sessions then get the pty's default modes.
func ApplyModes(_ *os.File, modes []byte) error {
	if len(modes) == 0 {
		return nil
	}
	return fmt.Errorf("set terminal modes: not supported on %s yet", runtime.GOOS)
}

package term

import "golang.org/x/sys/unix"

// The termios ioctls, and the value of a disabled control character.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
	vdisable        = 0
)

//go:build linux || darwin

package term

import (
	"encoding/binary"
	"fmt"
	"os"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// Terminal modes (RFC 4254 8): a pty request carries the client's own
// terminal settings, and sshd sets them on the pty before the shell
// starts, so echo, line editing keys and signals behave as the user's
// terminal is set up. These are the modes both Linux and macOS have;
// others (VSWTCH, VDSUSP, IUCLC, XCASE, OLCUC, the speeds) are skipped,
// as sshd skips what its system lacks.

// ttyChars maps a mode opcode to its index in Termios.Cc.
var ttyChars = map[byte]int{
	gossh.VINTR: unix.VINTR, gossh.VQUIT: unix.VQUIT, gossh.VERASE: unix.VERASE, gossh.VKILL: unix.VKILL,
	gossh.VEOF: unix.VEOF, gossh.VEOL: unix.VEOL, gossh.VEOL2: unix.VEOL2, gossh.VSTART: unix.VSTART,
	gossh.VSTOP: unix.VSTOP, gossh.VSUSP: unix.VSUSP, gossh.VREPRINT: unix.VREPRINT, gossh.VWERASE: unix.VWERASE,
	gossh.VLNEXT: unix.VLNEXT, gossh.VDISCARD: unix.VDISCARD,
}

// Which Termios field a flag lives in.
const (
	iflag = iota
	oflag
	cflag
	lflag
)

type ttyFlag struct {
	field int
	bit   uint64
}

// ttyFlags maps a mode opcode to its flag.
var ttyFlags = map[byte]ttyFlag{
	gossh.IGNPAR: {iflag, unix.IGNPAR}, gossh.PARMRK: {iflag, unix.PARMRK}, gossh.INPCK: {iflag, unix.INPCK},
	gossh.ISTRIP: {iflag, unix.ISTRIP}, gossh.INLCR: {iflag, unix.INLCR}, gossh.IGNCR: {iflag, unix.IGNCR},
	gossh.ICRNL: {iflag, unix.ICRNL}, gossh.IXON: {iflag, unix.IXON}, gossh.IXANY: {iflag, unix.IXANY},
	gossh.IXOFF: {iflag, unix.IXOFF}, gossh.IMAXBEL: {iflag, unix.IMAXBEL}, gossh.IUTF8: {iflag, unix.IUTF8},

	gossh.ISIG: {lflag, unix.ISIG}, gossh.ICANON: {lflag, unix.ICANON}, gossh.ECHO: {lflag, unix.ECHO},
	gossh.ECHOE: {lflag, unix.ECHOE}, gossh.ECHOK: {lflag, unix.ECHOK}, gossh.ECHONL: {lflag, unix.ECHONL},
	gossh.NOFLSH: {lflag, unix.NOFLSH}, gossh.TOSTOP: {lflag, unix.TOSTOP}, gossh.IEXTEN: {lflag, unix.IEXTEN},
	gossh.ECHOCTL: {lflag, unix.ECHOCTL}, gossh.ECHOKE: {lflag, unix.ECHOKE}, gossh.PENDIN: {lflag, unix.PENDIN},

	gossh.OPOST: {oflag, unix.OPOST}, gossh.ONLCR: {oflag, unix.ONLCR}, gossh.OCRNL: {oflag, unix.OCRNL},
	gossh.ONOCR: {oflag, unix.ONOCR}, gossh.ONLRET: {oflag, unix.ONLRET},

	// sshd treats the character sizes as plain bits too.
	gossh.CS7: {cflag, unix.CS7}, gossh.CS8: {cflag, unix.CS8}, gossh.PARENB: {cflag, unix.PARENB},
	gossh.PARODD: {cflag, unix.PARODD},
}

// ApplyModes sets the encoded terminal modes of a pty request on tty.
func ApplyModes(tty *os.File, modes []byte) error {
	if len(modes) == 0 {
		return nil
	}
	rc, err := tty.SyscallConn()
	if err != nil {
		return fmt.Errorf("set terminal modes: %w", err)
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), ioctlGetTermios)
		if err != nil {
			ioErr = err
			return
		}
		setModes(t, modes)
		ioErr = unix.IoctlSetTermios(int(fd), ioctlSetTermios, t)
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		return fmt.Errorf("set terminal modes: %w", err)
	}
	return nil
}

// setModes applies encoded modes to t: opcode bytes, each with a uint32
// argument, up to TTY_OP_END. Opcodes from 160 on have no defined
// argument, so parsing stops there, as in sshd.
func setModes(t *unix.Termios, modes []byte) {
	for len(modes) >= 5 && modes[0] != 0 && modes[0] < 160 {
		op, v := modes[0], binary.BigEndian.Uint32(modes[1:5])
		modes = modes[5:]
		if i, ok := ttyChars[op]; ok {
			// 255 is the client's "disabled".
			c := byte(v) //nolint:gosec // control characters are bytes
			if v == 255 {
				c = vdisable
			}
			t.Cc[i] = c
			continue
		}
		f, ok := ttyFlags[op]
		if !ok {
			continue
		}
		switch f.field {
		case iflag:
			setFlag(&t.Iflag, f.bit, v != 0)
		case oflag:
			setFlag(&t.Oflag, f.bit, v != 0)
		case cflag:
			setFlag(&t.Cflag, f.bit, v != 0)
		case lflag:
			setFlag(&t.Lflag, f.bit, v != 0)
		}
	}
}

// setFlag sets or clears bit; Termios' fields are uint32 on Linux and
// uint64 on macOS.
func setFlag[T ~uint32 | ~uint64](f *T, bit uint64, on bool) {
	if on {
		*f |= T(bit)
	} else {
		*f &^= T(bit)
	}
}

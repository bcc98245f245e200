//go:build linux || darwin

package term

import (
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// encodeModes encodes modes as a pty request carries them, in order.
func encodeModes(ops ...uint32) []byte {
	var b []byte
	for i := 0; i+1 < len(ops); i += 2 {
		v := ops[i+1]
		b = append(b, byte(ops[i]), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return b
}

func TestSetModes(t *testing.T) {
	var tio unix.Termios
	tio.Lflag = unix.ECHO
	tio.Cc[unix.VQUIT] = 0x1c
	modes := encodeModes(gossh.ECHO, 0, gossh.ICANON, 1, gossh.VINTR, 7, gossh.VQUIT, 255, gossh.IUTF8, 1,
		99, 1, // unknown but well-formed: skipped
		200, 0, // undefined opcode: parsing stops here
		gossh.ONLCR, 1)
	setModes(&tio, modes)
	if tio.Lflag&unix.ECHO != 0 || tio.Lflag&unix.ICANON == 0 || tio.Iflag&unix.IUTF8 == 0 {
		t.Errorf("lflag %#x iflag %#x: want -echo icanon iutf8", tio.Lflag, tio.Iflag)
	}
	if tio.Cc[unix.VINTR] != 7 || tio.Cc[unix.VQUIT] != vdisable {
		t.Errorf("intr %#x quit %#x, want 0x7 and disabled", tio.Cc[unix.VINTR], tio.Cc[unix.VQUIT])
	}
	if tio.Oflag&unix.ONLCR != 0 {
		t.Error("a mode after an undefined opcode was applied")
	}
	// A truncated list is applied up to where it breaks off.
	setModes(&tio, encodeModes(gossh.ECHO, 1)[:4])
	if tio.Lflag&unix.ECHO != 0 {
		t.Error("a truncated mode was applied")
	}
}

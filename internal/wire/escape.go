package wire

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EscapeData escapes a workflow command's message, as the runner expects.
func EscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeProperty escapes a workflow command's property value.
func EscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// What a peer sends before it has logged in (method names, algorithm
// lists, version strings, user names) is written to the job log, which
// the runner reads for workflow commands: "##[" anywhere in a line, "::"
// at its start. Anyone who can reach the port could then forge
// annotations, hide the audit lines in a group or fail the step. So such
// text is only logged through PeerText.

// Caps on one piece of peer text in the log: a name is a method or
// algorithm name, an error message may quote the peer's whole lists.
const (
	MaxPeerName  = 64
	MaxPeerError = 300
)

// PeerText makes s, sent by a peer, safe to log: bytes outside printable
// ASCII and the backslash are escaped as \xNN, the second character of
// every "##" and "::" is escaped, so no workflow command can start in
// it, and it is cut to max bytes with a note of how much was left out.
func PeerText(s string, max int) string {
	var b strings.Builder
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		if b.Len() >= max {
			b.WriteString("...(" + strconv.Itoa(len(s)-i) + " more bytes)")
			break
		}
		c := s[i]
		switch {
		case c < 0x20, c >= 0x7f, c == '\\':
			b.WriteString(`\x` + strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&0xf, 16))
			c = 0 // an escape ends any "##" or "::"
		case (c == '#' || c == ':') && prev == c:
			b.WriteString(`\x` + strconv.FormatUint(uint64(c), 16))
			c = 0
		default:
			b.WriteByte(c)
		}
		prev = c
	}
	return b.String()
}

// PeerError is err's message as PeerText: x/crypto's handshake errors
// quote what the peer offered.
func PeerError(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF):
		return "the client closed the connection"
	}
	msg := err.Error()
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "?")
	}
	return PeerText(msg, MaxPeerError)
}

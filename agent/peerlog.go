package agent

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// What a peer sends before it has logged in (method names, algorithm
// lists, version strings, user names) is written to the job log, which
// the runner reads for workflow commands: "##[" anywhere in a line, "::"
// at its start. Anyone who can reach the port could then forge
// annotations, hide the audit lines in a group or fail the step. So such
// text is only logged through peerText, and lines caused by peers who
// have not logged in go through a preLoginBudget.

// Caps on one piece of peer text in the log: a name is a method or
// algorithm name, an error message may quote the peer's whole lists.
const (
	maxPeerName  = 64
	maxPeerError = 300
)

// peerText makes s, sent by a peer, safe to log: bytes outside printable
// ASCII and the backslash are escaped as \xNN, the second character of
// every "##" and "::" is escaped, so no workflow command can start in
// it, and it is cut to max bytes with a note of how much was left out.
func peerText(s string, max int) string {
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

// peerError is err's message as peerText: x/crypto's handshake errors
// quote what the peer offered.
func peerError(err error) string {
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
	return peerText(msg, maxPeerError)
}

// Budget of log lines caused by peers that have not logged in: a burst
// for an ordinary scan, then one a second, whatever the number of
// connections or addresses. The lines it drops are counted and the next
// line says how many.
const (
	preLoginBurst  = 100
	preLoginRefill = time.Second
)

// preLoginBudget is a token bucket of log lines.
type preLoginBudget struct {
	now func() time.Time

	mu         sync.Mutex
	tokens     float64
	at         time.Time
	suppressed int
}

func newPreLoginBudget(now func() time.Time) *preLoginBudget {
	return &preLoginBudget{now: now, tokens: preLoginBurst, at: now()}
}

// take reports whether one more line may be logged and, if so, how many
// were dropped since the last one that was.
func (b *preLoginBudget) take() (ok bool, dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(preLoginBurst, b.tokens+float64(now.Sub(b.at))/float64(preLoginRefill))
	b.at = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	dropped, b.suppressed = b.suppressed, 0
	return true, dropped
}

package actrun

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// gate passes act's output through, except while the user is in an ssh
// session on the same terminal: then it is kept and written out when the
// session ends, so that nothing interleaves with the user's shell.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	held bool
	buf  bytes.Buffer
	// What act said that pitstop act explains afterwards (watched), and
	// the end of the output so far, for a message split across writes.
	seen map[string]bool
	tail []byte
}

// watched are messages of act's that pitstop act adds a hint to.
var watched = []string{"Unable to clone"}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tail = append(g.tail, p...)
	for _, w := range watched {
		if bytes.Contains(g.tail, []byte(w)) {
			if g.seen == nil {
				g.seen = map[string]bool{}
			}
			g.seen[w] = true
		}
	}
	if n := len(g.tail); n > 256 {
		g.tail = append(g.tail[:0], g.tail[n-256:]...)
	}
	if g.held {
		return g.buf.Write(p)
	}
	return g.w.Write(p)
}

// saw reports whether act printed one of the watched messages.
func (g *gate) saw(msg string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen[msg]
}

func (g *gate) printf(format string, args ...any) {
	fmt.Fprintf(g, format, args...)
}

func (g *gate) hold() {
	g.mu.Lock()
	g.held = true
	g.mu.Unlock()
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.held = false
		_, _ = g.buf.WriteTo(g.w)
	}
}

package agent

import (
	"sync"
	"time"
)

// What a peer sends before it has logged in (method names, algorithm
// lists, version strings, user names) is written to the job log, which
// the runner reads for workflow commands: "##[" anywhere in a line, "::"
// at its start. Anyone who can reach the port could then forge
// annotations, hide the audit lines in a group or fail the step. So such
// text is only logged through wire.PeerText, and lines caused by peers who
// have not logged in go through a preLoginBudget.

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

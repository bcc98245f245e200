package term

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// Terminals are the live terminals, each with its ID. The zero value
// is empty and ready.
type Terminals struct {
	mu   sync.Mutex
	next int
	all  map[int]*Terminal
}

// Add lists t, giving it the next ID.
func (ts *Terminals) Add(t *Terminal) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.all == nil {
		ts.all = map[int]*Terminal{}
	}
	ts.next++
	t.id = ts.next
	ts.all[t.id] = t
}

// Remove takes t off the list.
func (ts *Terminals) Remove(t *Terminal) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.all, t.id)
}

// Get is terminal id, or nil.
func (ts *Terminals) Get(id int) *Terminal {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.all[id]
}

// list is every terminal, oldest first.
func (ts *Terminals) list() []*Terminal {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]*Terminal, 0, len(ts.all))
	for _, t := range ts.all {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Infos describes every terminal, oldest first.
func (ts *Terminals) Infos() []control.TerminalInfo {
	out := []control.TerminalInfo{}
	for _, t := range ts.list() {
		out = append(out, t.Info())
	}
	return out
}

// DetachedOf is user's most recently detached terminal, if any: the one a
// dropped connection left behind.
func (ts *Terminals) DetachedOf(user string) *Terminal {
	var best *Terminal
	var bestAt time.Time
	for _, t := range ts.list() {
		ti := t.Info()
		if ti.Owner != user || ti.DetachedSince.IsZero() {
			continue
		}
		if best == nil || !ti.DetachedSince.Before(bestAt) {
			best, bestAt = t, ti.DetachedSince
		}
	}
	return best
}

// Pick is the terminal "pitstop attach [ID]" means: the given one, or,
// without an ID, the only one other than the caller's own (from, 0 for
// none).
func (ts *Terminals) Pick(id, from int) (*Terminal, error) {
	if id == from && id != 0 {
		return nil, fmt.Errorf("you are in terminal %d already", id)
	}
	if id != 0 {
		if t := ts.Get(id); t != nil {
			return t, nil
		}
		return nil, fmt.Errorf("no terminal %d; %s", id, ts.describe(from))
	}
	var others []*Terminal
	for _, t := range ts.list() {
		if t.id != from {
			others = append(others, t)
		}
	}
	if len(others) == 1 {
		return others[0], nil
	}
	return nil, fmt.Errorf("say which terminal: %s", ts.describe(from))
}

// describe lists the terminals one may attach to, for error messages.
func (ts *Terminals) describe(from int) string {
	var ids []string
	for _, t := range ts.list() {
		if t.id != from {
			ids = append(ids, strconv.Itoa(t.id)+" ("+t.owner+")")
		}
	}
	if len(ids) == 0 {
		return "there is no other terminal"
	}
	return "terminals: " + strings.Join(ids, ", ")
}

// HangUpAll hangs up every terminal: the pause is over.
func (ts *Terminals) HangUpAll() {
	for _, t := range ts.list() {
		t.HangUp()
	}
}

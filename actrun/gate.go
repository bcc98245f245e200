package actrun

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
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
	// clones are the repositories act said it could not clone, as it
	// names them ("https://github.com/OWNER/REPO refs/tags/v4").
	clones []string
}

// cloneMsg starts act's message for an action it could not fetch.
const cloneMsg = "Unable to clone "

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
	g.noteClones()
	if n := len(g.tail); n > 256 {
		g.tail = append(g.tail[:0], g.tail[n-256:]...)
	}
	if g.held {
		return g.buf.Write(p)
	}
	return g.w.Write(p)
}

// noteClones records what the complete cloneMsg lines in the tail name.
func (g *gate) noteClones() {
	rest := g.tail
	for {
		i := bytes.Index(rest, []byte(cloneMsg))
		if i < 0 {
			return
		}
		rest = rest[i+len(cloneMsg):]
		end := bytes.IndexByte(rest, '\n')
		switch {
		case end < 0 && len(rest) < 200:
			return // the line is not complete yet
		case end < 0:
			end = 200 // long enough for what it names
		}
		f := strings.Fields(string(rest[:end]))
		if len(f) >= 2 {
			what := f[0] + " " + strings.TrimSuffix(f[1], ":")
			if !slices.Contains(g.clones, what) && len(g.clones) < 20 {
				g.clones = append(g.clones, what)
			}
		}
		rest = rest[end:]
	}
}

// cloneFailures lists the repositories act could not clone, in order.
func (g *gate) cloneFailures() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.clones)
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

// explainClones adds a hint to act's "Unable to clone" lines: for
// pitstop's own action, that a local source tree does without it; for any
// other action, that act needs its repository, and where that is
// explained. local says whether pitstop's action came from a local tree.
func (r *run) explainClones(local bool) {
	var ours bool
	var others []string
	repo, _, _ := strings.Cut(r.o.Uses, "@")
	if parts := strings.Split(repo, "/"); len(parts) >= 2 {
		repo = parts[0] + "/" + parts[1]
	}
	for _, c := range r.out.cloneFailures() {
		url, _, _ := strings.Cut(c, " ")
		if strings.HasSuffix(strings.TrimSuffix(url, ".git"), "/"+repo) {
			ours = true
			continue
		}
		others = append(others, c)
	}
	if ours && !local {
		fmt.Fprintf(r.o.Stderr, "pitstop: act could not fetch %s (offline?); point pitstop act at a pitstop source tree with --action-source DIR\n", r.o.Uses)
	}
	if len(others) > 0 {
		fmt.Fprintf(r.o.Stderr, "pitstop: act could not fetch an action the job uses (%s): offline, a private repository, or GitHub's rate limit (set GITHUB_TOKEN)? act fetches every action the job runs; see \"Actions act cannot fetch\" in docs/act.md\n", strings.Join(others, "; "))
	}
}

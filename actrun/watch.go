package actrun

import (
	"bytes"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// actLog follows act's output on its way to the user, line by line, for
// what pitstop act must know about the job and act does not tell it
// otherwise: whether the job ran at all, which step failed, and whether
// the agent let someone in (to tell a dropped connection from one that
// never got through). Lines go on to next as they came, except that
// colour codes are taken out when next is not a terminal.
type actLog struct {
	mu      sync.Mutex
	next    io.Writer
	noColor bool
	partial []byte

	started  bool   // act ran a step of the job
	failed   string // the last step act reported as failed
	logins   int    // "logged in" lines from the agent
	stateDir string // the pause's state directory, under act's job directory
}

var (
	// ansi matches the SGR colour sequences zerolog and act write.
	ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")
	// actFailure is act's line for a failed step, e.g.
	// "[ci.yml/build]   ❌  Failure - Main make [1.2s]".
	actFailure = regexp.MustCompile(`❌\s+Failure - (?:(?:Pre|Main|Post) )?(.*?)(?: \[[^\]]*\])?\s*$`)
	// agentLogin is the agent's log line for a login, in either of its
	// log formats.
	agentLogin = regexp.MustCompile(`\bINF logged in\b|"message":"logged in"`)
	// installState is act's echo of the install step's state output.
	installState = regexp.MustCompile(`::set-output:: state=(/.*?)\s*$`)
)

func (l *actLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	// Whole lines only, so that a colour code is never cut in two.
	i := bytes.LastIndexByte(l.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := l.partial[:i+1]
	for _, s := range strings.SplitAfter(string(lines), "\n") {
		if s != "" {
			l.line(ansi.ReplaceAllString(s, ""))
		}
	}
	err := l.emit(lines)
	l.partial = append([]byte(nil), l.partial[i+1:]...)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush writes out a last line that has no newline.
func (l *actLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.line(ansi.ReplaceAllString(string(l.partial), ""))
		_ = l.emit(l.partial)
		l.partial = nil
	}
}

func (l *actLog) emit(b []byte) error {
	if l.noColor {
		b = ansi.ReplaceAll(b, nil)
	}
	_, err := l.next.Write(b)
	return err
}

func (l *actLog) line(s string) {
	switch {
	case strings.Contains(s, "⭐ Run "):
		l.started = true
	case actFailure.MatchString(s):
		l.failed = actFailure.FindStringSubmatch(s)[1]
	case agentLogin.MatchString(s):
		l.logins++
	case installState.MatchString(s):
		l.stateDir = installState.FindStringSubmatch(s)[1]
	}
}

// state returns what has been seen so far.
func (l *actLog) state() (started bool, failed string, logins int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started, l.failed, l.logins
}

// jobDir returns the directory act made for the job in host mode,
// ACTCACHE/act/HEX with the workspace (hostexecutor) and RUNNER_TEMP
// (tmp) in it, as learnt from where the pause's state went; "" when it is
// not known or not of that shape.
func (l *actLog) jobDir() string {
	l.mu.Lock()
	state := l.stateDir
	l.mu.Unlock()
	if state == "" {
		return ""
	}
	tmp := filepath.Dir(state)
	dir := filepath.Dir(tmp)
	if filepath.Base(tmp) != "tmp" || filepath.Base(filepath.Dir(dir)) != "act" || !jobDirName.MatchString(filepath.Base(dir)) {
		return ""
	}
	return dir
}

// jobDirName is act's name for a job directory: 8 random bytes in hex.
var jobDirName = regexp.MustCompile(`^[0-9a-f]{16}$`)

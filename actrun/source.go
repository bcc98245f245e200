package actrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the Go module whose source holds the action (agent/action.yml).
const ModulePath = "github.com/pitstopci/pitstop"

// CheckSource reports whether dir is a pitstop source tree act can use for
// the action: a go.mod declaring ModulePath and an agent/action.yml.
func CheckSource(dir string) error {
	mod, err := modulePath(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("check action source %s: %w", dir, err)
	}
	if mod != ModulePath {
		return fmt.Errorf("check action source %s: go.mod declares module %q, not %q", dir, mod, ModulePath)
	}
	if _, err := os.Stat(filepath.Join(dir, "agent", "action.yml")); err != nil {
		return fmt.Errorf("check action source %s: %w", dir, err)
	}
	return nil
}

// FindSource looks for a pitstop source checkout that contains start: start
// itself or one of its parents. It is how pitstop act finds the action when
// it is run from a checkout (go run ./cmd/pitstop, or bin/pitstop built by
// `task build`), so that changes to the agent and the action are tried
// without a release. It returns "" when there is none.
func FindSource(start string) string {
	dir, err := filepath.Abs(start)
	if err != nil {
		return ""
	}
	for {
		if CheckSource(dir) == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// modulePath returns the module path declared by a go.mod file.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			mod := strings.TrimSpace(rest)
			if i := strings.Index(mod, "//"); i >= 0 {
				mod = strings.TrimSpace(mod[:i])
			}
			return strings.Trim(mod, `"`+"`"), nil
		}
	}
	return "", errors.New("no module line")
}

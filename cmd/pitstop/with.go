package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pitstopci/pitstop/agent/inputs"
	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/local"
)

// checkWith checks the --with inputs against the action the pause step
// uses (see inputs.CheckFor). When that action cannot be read here, the
// inputs are passed on as given, and the user is told so once.
func checkWith(io *IO, uses, root string, with []injector.Input) error {
	if strings.HasPrefix(uses, "./") && !hasAction(filepath.Join(root, filepath.FromSlash(uses))) {
		// The runner would fail at the pause, far from this command line.
		fmt.Fprintf(io.Err, "pitstop: warning: --uses %s names no directory with an action.yml in %s; the pause step will fail unless an earlier step puts one there\n", uses, root)
	}
	checked, err := inputs.CheckFor(uses, root, with)
	if err != nil {
		return usagef("%v", err)
	}
	if !checked {
		fmt.Fprintf(io.Err, "pitstop: --with was not checked: %s is not pitstop's action, nor a local action with an action.yml\n", uses)
	}
	return nil
}

// workflowRoot is the directory a workflow's local actions (uses: ./dir)
// are found from: the one above .github/workflows when the file lies
// there, else the repository around the current directory. file "" (as
// for pitstop act, whose job runs in that repository whichever workflow
// it reads) or "-" (stdin) goes straight to the latter.
func workflowRoot(file string) string {
	if file != "-" && file != "" {
		if abs, err := filepath.Abs(file); err == nil {
			dir := filepath.Dir(abs)
			if filepath.Base(dir) == "workflows" && filepath.Base(filepath.Dir(dir)) == ".github" {
				return filepath.Dir(filepath.Dir(dir))
			}
		}
	}
	root, err := local.RepoRoot(".")
	if err != nil {
		return "."
	}
	return root
}

// hasAction reports whether dir holds an action: action.yml or
// action.yaml.
func hasAction(dir string) bool {
	for _, name := range []string{"action.yml", "action.yaml"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

package inputs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/injector"
)

func TestCheckFor(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("other/action.yml", "name: other\ninputs:\n  verbose:\n    default: 'false'\n  target:\n    description: where\nruns:\n  using: node20\n  main: x.js\n")
	write("yaml/action.yaml", "name: other\ninputs:\n  level:\n    default: '1'\nruns:\n  using: node20\n  main: x.js\n")
	write("bare/action.yml", "name: bare\nruns:\n  using: node20\n  main: x.js\n")
	write("fork/action.yml", string(agent.ActionYAML))
	write("broken/action.yml", "inputs: [\n")
	write("noaction/README", "no action here\n")

	with := func(kv ...string) []injector.Input {
		var out []injector.Input
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, injector.Input{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		uses    string
		with    []injector.Input
		checked bool
		want    string // error prefix, "" for none
	}{
		// pitstop's action, by reference: its embedded inputs and values.
		{"", with("wait-timeout", "5m"), true, ""},
		{"someone/pitstop/agent@v2", with("wait-timeout", "5"), true, "--with wait-timeout=5: want a duration"},
		{injector.DefaultUses, with("wait-timout", "5m"), true, `--with wait-timout: the action has no input "wait-timout"; did you mean "wait-timeout"?`},
		// Another local action: its own names; its values are its business.
		{"./other", with("verbose", "yes", "target", "x"), true, ""},
		{"./other", with("wait-timeout", "5m"), true, `--with wait-timeout: the action has no input "wait-timeout"; its inputs are: verbose, target`},
		{"./other", with("targt", "x"), true, `--with targt: the action has no input "targt"; did you mean "target"?`},
		{"./yaml", with("level", "2"), true, ""},
		{"./yaml", with("levels", "2"), true, `--with levels: the action has no input "levels"; did you mean "level"?`},
		{"./bare", with("x", "1"), true, `--with x: the action has no input "x"; it declares none`},
		// A local copy of pitstop's action: values are checked too.
		{"./fork", with("max-duration", "2h"), true, ""},
		{"./fork", with("allow-untrusted-prs", "yes"), true, "--with allow-untrusted-prs=yes: want true or false"},
		{"./broken", with("x", "1"), false, filepath.Join(root, "broken", "action.yml") + ": read the action's inputs"},
		// Nothing to read: not checked, and no error.
		{"./noaction", with("anything", "1"), false, ""},
		{"./missing", with("anything", "1"), false, ""},
		{"actions/checkout@v4", with("anything", "1"), false, ""},
		{"docker://alpine:3", with("anything", "1"), false, ""},
		// No --with, nothing to check.
		{"actions/checkout@v4", nil, true, ""},
	} {
		checked, err := CheckFor(tc.uses, root, tc.with)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckFor(%q, %v) = %v, want nil", tc.uses, tc.with, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("CheckFor(%q, %v) = %v, want %q", tc.uses, tc.with, err, tc.want)
		}
		if err == nil && checked != tc.checked {
			t.Errorf("CheckFor(%q, %v) checked = %v, want %v", tc.uses, tc.with, checked, tc.checked)
		}
	}
}

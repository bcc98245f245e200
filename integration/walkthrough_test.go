//go:build unix

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// TestActWalkthrough follows the walkthrough in docs/act.md:
// a small Go project whose CI is examples/go.yml, run with pitstop act and
// paused after the build; the user lands in a shell in the workspace, with
// the build's output there, and the job finishes after they leave.
func TestActWalkthrough(t *testing.T) {
	tool(t, "ssh", sshInstall)
	// The command the walkthrough tells the reader to run, word for word.
	const command = "pitstop act --job test --ssh-after-step 3 --action-source ~/pitstop"
	if !strings.Contains(strings.Join(docLines(t, "docs/act.md"), "\n"), "\n"+command+"\n") {
		t.Fatalf("the walkthrough in docs/act.md no longer runs %q; update this test with it", command)
	}
	example, err := os.ReadFile(filepath.Join(sourceRoot, "examples", "go.yml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newActRepo(t, map[string]string{
		"go.mod":                   "module example.com/hello\n\ngo 1.22\n",
		"main.go":                  "package main\n\nfunc main() { println(\"hello\") }\n",
		".github/workflows/ci.yml": string(example),
	})
	args := strings.Fields(command)[1:]
	args[len(args)-1] = sourceRoot // ~/pitstop: where the reader cloned pitstop
	r := e.start(t, args...)
	line := r.connectLine(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session := sshWith(ctx, line, "-tt", "-i", e.key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes")
	session.Stdin = strings.NewReader(strings.Join([]string{
		`go version >/dev/null && echo "go-is-""there"`,
		`[ -f go.mod ] && echo "in-the-""project"`,
		`pitstop status >/dev/null && echo "status-""works"`,
		`exit`,
	}, "\n") + "\n")
	out, err := session.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh session: %v\n%s", err, out)
	}
	testutil.Contains(t, "the session's output", string(out), "go-is-there", "in-the-project", "status-works")
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0 (the job succeeded)", code)
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "act's output", stderr, "Success - Main Test", "Success - Main Vet", "Job succeeded")
}

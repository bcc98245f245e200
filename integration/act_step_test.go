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

// TestActStepRunReproducesTheFailure: the step after the pause fails
// because of its own env: (a variable set there, one built from the
// workflow's env, an expression in its script that reads the step's env),
// in the directory and with the shell it names. In the session the
// variables are set, pitstop step shows the step, and pitstop step run
// fails the same way, with the same output and exit status as the job
// then does under act.
func TestActStepRunReproducesTheFailure(t *testing.T) {
	tool(t, "ssh", sshInstall)
	// The step notes each line it prints in record too: act in host mode
	// closes a step's pty as soon as the step fails, dropping the output
	// it had not read yet, so its log may lack the step's last lines.
	record := filepath.Join(t.TempDir(), "record")
	e := newActRepo(t, map[string]string{
		".github/workflows/ci.yml": strings.ReplaceAll(`on: push
env:
  PREFIX: built-for
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      JOB_LEVEL: from-the-job
    steps:
      - run: |
          mkdir sub
          echo "FROM_GITHUB_ENV=set-by-step-1" >> "$GITHUB_ENV"
      - name: Build
        shell: bash
        working-directory: sub
        env:
          TARGET_OS: plan9
          TARGET: ${{ env.PREFIX }}-${{ github.job }}
        run: |
          say() { echo "$1"; echo "$1" >> RECORD; }
          say "target=[$TARGET] os=[${{ env.TARGET_OS }}] job=[$JOB_LEVEL] env=[$FROM_GITHUB_ENV] dir=[$(basename "$PWD")]"
          [[ -o pipefail ]] && say "pipe""fail-on"
          test "$TARGET_OS" != plan9 || { say "cannot build for $TARGET_OS"; exit 3; }
`, "RECORD", record),
	})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	batch := []string{"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-i", e.key}
	remote := `echo "session-os=[$TARGET_OS]"; pitstop step; pitstop step run; echo "step-exit=[$?]"; pitstop continue`
	out, err := sshWith(ctx, line+" '"+remote+"'", batch...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	session := string(out)
	want := "target=[built-for-build] os=[plan9] job=[from-the-job] env=[set-by-step-1] dir=[sub]"
	testutil.Contains(t, "the session's output", session,
		"session-os=[plan9]",
		"Step 2 (Build) runs after the pause.",
		"shell: bash\n",
		"working-directory: sub\n",
		"env (set in this session): TARGET_OS TARGET\n",
		want,
		"pipefail-on",
		"cannot build for plan9",
		"pitstop: step 2 exited with status 3",
		"step-exit=[3]",
	)

	if code := r.wait(t, 2*time.Minute); code == 0 {
		t.Errorf("pitstop act exited 0; the job's step 2 should have failed")
	}
	// The job's own run of the step: the same output, the same status.
	stderr := r.stderr.String()
	if !strings.Contains(stderr, "Step 2 (Build) runs after the pause; sessions have its environment") {
		t.Errorf("the pause's log does not name the step it stands for")
	}
	// The session's run and the job's each noted every line.
	noted, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{want, "pipefail-on", "cannot build for plan9"} {
		if n := strings.Count(string(noted), w+"\n"); n != 2 {
			t.Errorf("%q noted %d times by the session's and the job's runs of step 2, want 2:\n%s", w, n, noted)
		}
	}
	if !strings.Contains(stderr, "[ci.yml/build] exit status 3\n") {
		t.Errorf("act does not report step 2's exit status 3")
	}
}

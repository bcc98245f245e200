// Package ghrun drives a workflow run on GitHub from the command line:
// it owns "pitstop run", "pitstop rerun" and "pitstop ssh".
//
// run commits the workflow with a pause injected on top of a commit that
// is on GitHub, to a throwaway branch "pitstop/JOB-XXXXXX", through the
// Git Data API (no local commit, no push, the user's branches untouched);
// the workflow's triggers are replaced by a push to that branch and the
// paused job is granted checks: write where that can be merged with the
// permissions it has. It then finds the run, follows it (run queued, job
// started, step k of n), and waits for the pause's check run, which the
// agent creates with the job's own token (a check run whose app is not
// "github-actions" is ignored). Any job with checks: write could write
// one, so its address and host key are trusted only when the OIDC token
// in it checks out (package proof, verify.go). With the host key pinned
// it connects (or prints the ssh command, or JSON), then follows the job
// to its end and deletes the branch. An interrupt cancels the run and
// deletes the branch.
//
// rerun finds the failed job of a finished run, maps the API's step
// numbers to the workflow's steps, and runs the workflow at the run's head
// commit paused right before the step that failed. ssh attaches to a pause
// that is already running, however its run was started.
//
// The user's token goes only to the API of the GitHub it is for (see
// token.go), through forge's guarded client.
//
// It does not edit workflows (package injector does), serve SSH (package
// agent does) or parse flags (cmd/pitstop does). Only GitHub's REST API is
// used, through go-github; tests point it at internal/ghfake.
package ghrun

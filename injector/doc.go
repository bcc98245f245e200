// Package injector rewrites a workflow to pause a job for SSH: it inserts
// one step after step N (or before step 1) and takes such steps out again.
//
// The edit is made in the original bytes, never by re-encoding the YAML:
// the output is the input plus the inserted lines, written in the
// indentation, list style ("- " or "-   ") and line endings of the
// neighbouring steps. Comments, blank lines, block scalars, anchors,
// quoting, key order, a byte order mark and CRLF line endings all survive.
// A flow-style list ("steps: [ ... ]") gets a flow-style entry. Package
// workflows, the one reader of workflow YAML, says where things are and
// how they are written, and checks the result; this package only splices
// bytes.
//
// The other edits of a workflow's text live here too, made and checked
// the same way: OnPush and GrantWrite for pitstop run, and
// ContainerOptions and ServiceOptions, with which pitstop act gives a
// job's containers its shared directory and labels.
//
// Every result is re-parsed before it is returned: the job must have
// exactly one more step, at index N, and the rest of the document must be
// unchanged (values, styles, anchors, aliases). When no placement passes
// that check, Insert refuses with an error instead of returning a file
// that is subtly different.
//
// # The pause step
//
// The inserted step looks like this:
//
//	steps:
//	  - name: Pause for SSH debugging (pitstop)
//	    id: pitstop-pause
//	    if: ${{ !cancelled() }}
//	    uses: pitstopci/pitstop/agent@v1
//
// The step id "pitstop-pause" (PauseID) is the marker: a step is a pause
// if and only if its id is PauseID, whatever its "uses:" says, so a pause
// made with a fork or a local path (Options.Uses) is still recognised.
// GitHub requires step ids to be unique within a job, so the marker cannot
// clash with a second pause. Insert first removes every pause in the file
// (running inject twice moves the pause; step numbers always count the
// file's own steps), and Remove takes every pause out, giving back the
// original bytes exactly.
//
// Options.OnFailure writes failure() instead of !cancelled(), so the pause
// runs only after a failed step (Options.End puts it after the last one).
// Options.Detached adds the input detached: "true" and a second step, id
// HoldID, as the job's last step with always(): the end-of-job hold, which
// finds the pause through its "state" output and gets job.status. Both ids
// are markers, so Insert moves both and Remove takes both out.
//
// With Options.Matrix the "if:" also names one matrix leg
// (${{ !cancelled() && matrix.os == 'ubuntu-latest' }}); Options.With
// adds "with:" inputs, always double-quoted so that any value stays a
// string. A job whose timeout-minutes is a plain number passes it on as
// the input JobTimeoutInput (to pitstop's action or a local one), unless
// With sets it, so that the agent knows when the job would be cancelled.
//
// A pause that runs pitstop's action (or a local copy) also carries the
// step it stands for: the step after it, or for an on-failure pause the
// step it follows. That step's env: becomes the pause's own env:, and its
// script, shell and working-directory (defaults.run included), or its
// action and inputs, go in as step-* inputs (StepRunInput and friends),
// all as written, so that the runner evaluates their ${{ }} as it would
// for that step. The agent gives sessions that environment and
// "pitstop step run" runs the script. A detached pause carries none.
//
// For pitstop run, OnPush replaces a workflow's triggers with a push to
// one branch, and GrantWrite merges a permission (checks: write) into the
// job's token permissions; both edit only the lines concerned.
//
// What it does not do: read or write files, print, or decide what the
// pause step does when it runs (that is the agent's business). Problems
// that do not stop the edit (a timeout shorter than the pause, a
// concurrency group that cancels runs, a matrix whose every leg would
// pause) come back as Warnings for the caller to show.
package injector

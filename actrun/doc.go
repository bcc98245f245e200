// Package actrun runs a workflow job locally under nektos/act with a pitstop
// pause in it, and gets the user into the paused job.
//
// It owns the local loop behind "pitstop act": finding the act binary (and
// saying how to install it when it is missing), choosing the workflow and
// repository, collecting the local user's public keys (~/.ssh/*.pub and the
// ssh-agent), injecting the pause into a temporary copy of the workflow
// with those keys and a ready file, building act's argument list (host mode
// unless Docker is asked for, the action resolved to a local pitstop source
// tree with --local-repository), streaming act's output, noticing the
// agent's ready file, and then either running ssh with the agent's host key
// pinned or printing the one-line command that does. In Docker it labels
// the containers act starts with the pitstop act that owns them, and
// removes those whose owner was killed before act could (orphans.go).
//
// It does not edit workflows itself (package injector does), serve SSH
// (package agent does), or parse command-line flags (cmd/pitstop does).
//
// What it relies on in act (v0.2.89), all observed rather than documented:
//   - -P LABEL=-self-hosted runs a job on this machine; the repository is
//     copied to ~/.cache/act/<id>/hostexecutor, which becomes the workspace;
//   - the host's environment is merged into every step, which is why Run
//     strips an outer runner's GITHUB_*, RUNNER_* and ACTIONS_* variables;
//   - --local-repository OWNER/REPO@REF=DIR copies DIR in place of the
//     action's repository, so GITHUB_ACTION_PATH/.. is a copy of DIR;
//   - a -W outside -C works, so the repository is left untouched;
//   - act's exit status is 0 when the job succeeded and 1 when it failed;
//   - a first interrupt cancels the job: steps whose if: is false once the
//     run is cancelled (the pause's `!cancelled()`) are killed and
//     `if: always()` steps still run; a second interrupt kills everything.
//
// And in Docker (a job with container:, or --docker; see container.go):
//   - without any -P (flag or actrc), act asks which images to use on a
//     terminal and dies with EOF otherwise;
//   - --container-options applies only to jobs without container:, whose
//     own container.options act uses instead;
//   - job containers use the host's network unless the job has services,
//     which get a network of its own;
//   - --pull=false pulls only missing images; --rm also removes the
//     containers, volumes and network of a failed or cancelled job.
package actrun

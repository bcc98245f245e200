// Package local finds what pitstop's commands need on the user's own
// machine: the repository a directory belongs to, the workflow file that
// defines a job, and the SSH identity files to offer when connecting.
//
// It lives apart from the commands (actrun for pitstop act, ghrun for
// pitstop run and ssh, cmd/pitstop) so that each of them finds these the
// same way. It does not read the workflows beyond their job ids; that is
// package workflows.
package local

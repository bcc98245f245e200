// Package ghfake is a stand-in for the GitHub REST API in tests: just the
// endpoints pitstop run, rerun and ssh (and the agent) use, answering with
// the shapes GitHub documents, mounted under a path prefix so that a
// client building absolute URLs fails.
//
// The Git Data API works on a real bare git repository, and creating a
// branch runs its workflows the way a push would: with the real act in
// host mode, the action resolved to a local pitstop source tree. act's
// JSON log drives the runs and jobs API (queued, in progress, each step's
// status and conclusion), and cancelling a run interrupts act. Check runs
// created with the job's token are kept and listed as GitHub lists them,
// with the "github-actions" app as their author.
//
// It is the one fake GitHub of the tests: those of forge and the agent use
// it for published keys (SetKeys, AddKey) and permissions
// (ServePermissions), with any token or none (Options.Tokens nil), and
// add what else they need (an error, a page) on Mux. It also serves the
// token service of GitHub Enterprise Server (oidc.go), whose tokens the
// jobs it runs request and pitstop verifies.
//
// It does not do what pitstop never asks: pagination beyond one page,
// branch filters, matrices, reusable workflows, webhooks.
package ghfake

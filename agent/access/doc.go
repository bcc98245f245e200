// Package access decides who may log in to a paused job and whether the
// run may be debugged at all: the triggering user and the extra forge
// users whose published keys are fetched, the keys given directly, the
// untrusted events refused and the repository permission each forge
// user needs. The rules are numbered at the top of access.go (who may
// log in) and permission.go (who may debug).
//
// It owns the Keyring, the fixed set of keys the SSH server admits, and
// the names those keys show to people. It does not read the environment
// (agent.ReadJob does, and fills in a Job), listen, or authenticate a
// connection: the agent's server looks keys up in the Keyring.
package access

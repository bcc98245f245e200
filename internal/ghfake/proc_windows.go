package ghfake

import "os/exec"

// startOwnGroup does nothing on Windows: the fake runs workflows with act,
// which runs on Unix hosts only, and is built here only so that the
// packages whose tests use the fake's API half vet and build on Windows.
func startOwnGroup(*exec.Cmd) {}

// killGroup kills act alone.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

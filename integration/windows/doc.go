// Package windows holds the end-to-end tests of the agent on Windows:
// pitstop.exe runs under wine (see .ci/wine-setup) and the real OpenSSH
// client on Linux connects to it. They are a package of their own so that
// the slow wine start-up stays out of the other packages' runs.
package windows

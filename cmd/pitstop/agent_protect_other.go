//go:build !linux

package main

// protectAgentProcess does nothing outside Linux: other systems have no
// /proc/PID/environ for a session of the same user to read, and their
// equivalents (ptrace, procfs on BSDs) have no one portable switch.
func protectAgentProcess() error { return nil }

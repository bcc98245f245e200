//go:build linux

package windows

import "time"

// defaultEnd bounds how long the agent takes to stop once the pause is
// over: its shutdown timeout plus wine's process teardown.
const defaultEnd = 30 * time.Second

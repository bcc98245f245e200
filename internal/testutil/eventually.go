package testutil

import "time"

// Eventually waits up to within for cond to hold, checking it every
// 10ms, and reports whether it did. It is for events the test is not told
// of directly, like a change on the far side of a connection: the one
// place where tests sleep.
func Eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

package testutil

import (
	"os"
	"testing"
)

// LooseTempDir is t.TempDir, except that a failure to remove it is not
// the test's: wine 8 lacks what Go's os.RemoveAll uses on Windows, and
// the agent's Windows tests run under it.
func LooseTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pitstop-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) //nolint:errcheck // see above
	return dir
}

//go:build unix

package integration

import (
	"fmt"
	"os"
	"testing"
)

// TestMain builds the pitstop binary once for every test in the package
// (see helpers_test.go) and removes it afterwards.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pitstop-integration-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildPitstop(dir); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	return m.Run()
}

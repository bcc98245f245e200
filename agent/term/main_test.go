package term

import (
	"os"
	"testing"
)

// TestMain lets the test binary be the console helper: on Windows, a
// pseudo console's program starts through it (see consoleArgv).
func TestMain(m *testing.M) {
	RunConsoleHelper(os.Args)
	os.Exit(m.Run())
}

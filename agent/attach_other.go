//go:build !unix && !windows

package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
)

// DetachKey leaves "pitstop attach" (see attach_unix.go); attach runs on Unix and Windows.
const DetachKey = 0x1d

// RunAttach is not implemented on this platform yet, like the sessions.
func RunAttach(context.Context, string, AttachOptions, *os.File, io.Writer) error {
	return fmt.Errorf("pitstop attach is not supported on %s yet", runtime.GOOS)
}

//go:build !unix && !windows

package control

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
)

// RunAttach is not implemented on this platform yet, like the sessions.
func RunAttach(context.Context, string, AttachOptions, *os.File, io.Writer) error {
	return fmt.Errorf("pitstop attach is not supported on %s yet", runtime.GOOS)
}

package workflows

import (
	"fmt"
	"io"
	"os"
)

// MaxSize is the largest workflow file pitstop reads: 4 MiB. Real
// workflows are a few kilobytes (the largest in public repositories run to
// a couple of hundred); a bigger file is almost certainly a wrong path, and
// refusing it early keeps a log or a binary from being read into memory and
// parsed.
const MaxSize = 4 << 20

// ReadFile reads the workflow at path, refusing directories and files over
// MaxSize with an error that says so.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read workflow: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read workflow: %w", err)
	}
	if fi.IsDir() {
		return nil, errorf(path, Pos{}, "is a directory; give the path of a workflow file, such as %s",
			"\".github/workflows/ci.yml\"")
	}
	if fi.Mode().IsRegular() && fi.Size() > MaxSize {
		return nil, tooBig(path)
	}
	// A FIFO or device has no meaningful size, so the limit is enforced
	// while reading as well.
	return ReadAll(path, f)
}

// ReadAll reads a workflow from r (standard input, for "-"), with the same
// MaxSize limit as ReadFile. name is used in error messages.
func ReadAll(name string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read workflow %s: %w", name, err)
	}
	if len(b) > MaxSize {
		return nil, tooBig(name)
	}
	return b, nil
}

func tooBig(name string) error {
	return errorf(name, Pos{}, "file is larger than %d MiB; this is not a workflow file", MaxSize>>20)
}

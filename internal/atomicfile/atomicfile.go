// Package atomicfile replaces a file's content so that readers see either
// the old bytes or the new ones, never a mix, and a failure at any point
// leaves the old file as it was.
//
// It exists instead of github.com/google/renameio because pitstop inject
// also runs on Windows laptops, which renameio does not support.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file next to path, syncs it, gives
// it path's permissions (or perm if path does not exist yet) and renames it
// over path. Symbolic links are followed, so the link itself survives.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	// The temporary file must be in the same directory: rename is only
	// atomic within one file system.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("set permissions of %s: %w", tmp.Name(), err)
	}
	// Without Sync, a crash soon after the rename can leave an empty file
	// under the old name on some file systems.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

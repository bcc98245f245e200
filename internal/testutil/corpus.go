package testutil

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// WalkWorkflows calls fn with the path of every *.yml and *.yaml file
// (of any case) under dir, in lexical order, such as a corpus of real
// workflow files. Most of a corpus's files are dot-files
// (".github__workflows__ci.yml"), which it visits too. The first error,
// from fn or from reading dir, ends the walk and is returned.
func WalkWorkflows(dir string, fn func(path string) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if d.IsDir() || (ext != ".yml" && ext != ".yaml") {
			return nil
		}
		return fn(path)
	})
}

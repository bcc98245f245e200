// Package sftpfs is the runner's file system as pkg/sftp's request
// server wants it: SFTP paths (POSIX, "~" for home, a Windows drive as
// /C:/...) mapped onto this system's, the errno a client is told, the
// attributes it sets, and every file transfer and change reported to an
// [Auditor].
//
// It does not serve the subsystem or decide where a session starts: the
// agent does (its sftp.go), and it keeps the audit trail the reports go
// into. It never imports agent.
package sftpfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/pkg/sftp"
)

// Auditor is told of each file a client changed or transferred.
type Auditor interface {
	// Changed reports a change: op is the request's method (Rename,
	// Remove, Mkdir, ...), target the second path of those that have one.
	Changed(op, path, target string)
	// Transferred reports a file closed after a download or an upload
	// ("download" or "upload") of n bytes; failed says why it was cut
	// short, nil if it was not.
	Transferred(direction, path string, n int64, failed error)
}

// FS is the runner's file system as pkg/sftp's request server wants it,
// reporting each file transfer and change to its Auditor.
type FS struct {
	audit Auditor
	home  string // where relative paths start, and what "~" means, as an SFTP path (Path)
}

// New is the file system for one session: relative paths start at home,
// an SFTP path (see Path), which "~" means too.
func New(home string, a Auditor) *FS { return &FS{audit: a, home: home} }

// tilde turns what the request server made of "~" or "~/x" (a name
// relative to home, so HOME/~ and HOME/~/x) into home and home/x.
func (fs *FS) tilde(p string) string {
	if rest, ok := strings.CutPrefix(p, path.Join(fs.home, "~")); ok && (rest == "" || rest[0] == '/') {
		return fs.home + rest
	}
	return p
}

// fix applies tilde to the paths of a request, and makes them this
// system's paths (Local).
func (fs *FS) fix(r *sftp.Request) {
	r.Filepath = Local(fs.tilde(r.Filepath))
	if r.Target != "" {
		r.Target = Local(fs.tilde(r.Target))
	}
}

// RealPath answers a client asking where a path is (sftp asks for "."
// when it starts): relative to home, with "~" expanded.
func (fs *FS) RealPath(p string) (string, error) {
	p = path.Clean(Path(p))
	if !path.IsAbs(p) {
		p = path.Join(fs.home, p)
	}
	return fs.tilde(p), nil
}

// Fileread opens a file to be read (a download).
func (fs *FS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	fs.fix(r)
	f, err := os.Open(r.Filepath)
	if err != nil {
		return nil, err
	}
	return &transferFile{File: f, audit: fs.audit, path: r.Filepath}, nil
}

// Filewrite opens a file to be written (an upload).
func (fs *FS) Filewrite(r *sftp.Request) (io.WriterAt, error) { return fs.open(r) }

// OpenFile opens a file for reading and writing at once.
func (fs *FS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) { return fs.open(r) }

func (fs *FS) open(r *sftp.Request) (*transferFile, error) {
	fs.fix(r)
	pf := r.Pflags()
	var flag int
	switch {
	case pf.Read && pf.Write:
		flag = os.O_RDWR
	case pf.Write:
		flag = os.O_WRONLY
	default:
		flag = os.O_RDONLY
	}
	// No O_APPEND even when asked: writes come with their offsets
	// (WriteAt), which O_APPEND would make fail.
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	mode := os.FileMode(0o644)
	if r.AttrFlags().Permissions {
		mode = r.Attributes().FileMode().Perm()
	}
	f, err := os.OpenFile(r.Filepath, flag, mode)
	if err != nil {
		return nil, err
	}
	return &transferFile{File: f, audit: fs.audit, path: r.Filepath, upload: flag&(os.O_WRONLY|os.O_RDWR) != 0}, nil
}

// Filecmd changes the file system: Setstat, Rename, Rmdir, Mkdir, Link,
// Symlink, Remove. All but Setstat are audited.
func (fs *FS) Filecmd(r *sftp.Request) error {
	fs.fix(r)
	var err error
	switch r.Method {
	case "Setstat":
		return setstat(r)
	case "Rename":
		err = os.Rename(r.Filepath, r.Target)
	case "Rmdir":
		err = syscall.Rmdir(r.Filepath)
	case "Remove":
		err = syscall.Unlink(r.Filepath)
	case "Mkdir":
		mode := os.FileMode(0o755)
		if r.AttrFlags().Permissions {
			mode = r.Attributes().FileMode().Perm()
		}
		err = os.Mkdir(r.Filepath, mode)
	case "Link":
		err = os.Link(r.Filepath, r.Target)
	case "Symlink":
		// pkg/sftp passes the link's target as Filepath and the new
		// link as Target.
		err = os.Symlink(r.Filepath, r.Target)
	default:
		return sftp.ErrSSHFxOpUnsupported
	}
	if err != nil {
		return &os.PathError{Op: r.Method, Path: r.Filepath, Err: unwrapPathError(err)}
	}
	fs.changed(r)
	return nil
}

// PosixRename is rename that replaces an existing target, which OpenSSH
// clients use when the server offers it.
func (fs *FS) PosixRename(r *sftp.Request) error {
	fs.fix(r)
	if err := os.Rename(r.Filepath, r.Target); err != nil {
		return err
	}
	fs.changed(r)
	return nil
}

func (fs *FS) changed(r *sftp.Request) { fs.audit.Changed(r.Method, r.Filepath, r.Target) }

// unwrapPathError keeps the errno, which is what the client is told.
func unwrapPathError(err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	default:
		return err
	}
}

// setstat applies the attributes a client sends (scp -p, sftp chmod).
func setstat(r *sftp.Request) error {
	flags, a := r.AttrFlags(), r.Attributes()
	if flags.Size {
		if err := os.Truncate(r.Filepath, int64(a.Size)); err != nil { //nolint:gosec // sizes past 2^63 fail in Truncate anyway
			return err
		}
	}
	if flags.Permissions {
		if err := os.Chmod(r.Filepath, a.FileMode().Perm()); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := os.Chtimes(r.Filepath, a.AccessTime(), a.ModTime()); err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := os.Chown(r.Filepath, int(a.UID), int(a.GID)); err != nil {
			return err
		}
	}
	return nil
}

// Filelist answers List (a directory's entries) and Stat.
func (fs *FS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	fs.fix(r)
	switch r.Method {
	case "List":
		d, err := os.Open(r.Filepath)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		infos, err := d.Readdir(-1)
		if err != nil {
			return nil, err
		}
		return listerAt(infos), nil
	case "Stat":
		fi, err := os.Stat(r.Filepath)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	default:
		return nil, fmt.Errorf("sftp %s: %w", r.Method, sftp.ErrSSHFxOpUnsupported)
	}
}

// Lstat is Stat that does not follow a final symlink.
func (fs *FS) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fs.fix(r)
	fi, err := os.Lstat(r.Filepath)
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

// Readlink returns a symlink's target as it is written.
func (fs *FS) Readlink(p string) (string, error) { return os.Readlink(Local(fs.tilde(p))) }

// listerAt is a complete listing, handed out in pages.
type listerAt []os.FileInfo

// ListAt copies entries from offset on; io.EOF says there are no more.
func (l listerAt) ListAt(dst []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[offset:])
	if int(offset)+n >= len(l) {
		return n, io.EOF
	}
	return n, nil
}

// transferFile is an open file that counts what passes through it, and
// records the transfer when the client closes it.
type transferFile struct {
	*os.File
	audit         Auditor
	path          string
	upload        bool // opened for writing
	read, written atomic.Int64
	once          sync.Once
	failed        error
}

// ReadAt counts what a download reads.
func (t *transferFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := t.File.ReadAt(p, off)
	t.read.Add(int64(n))
	return n, err
}

// WriteAt counts what an upload writes.
func (t *transferFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := t.File.WriteAt(p, off)
	t.written.Add(int64(n))
	return n, err
}

// TransferError is told why a transfer was cut short (the connection
// dropped while the file was open).
func (t *transferFile) TransferError(err error) { t.failed = err }

// Close closes the file and records the transfer.
func (t *transferFile) Close() error {
	err := t.File.Close()
	t.once.Do(func() {
		dir, n := "download", t.read.Load()
		if t.upload {
			dir, n = "upload", t.written.Load()
		}
		t.audit.Transferred(dir, t.path, n, t.failed)
	})
	return err
}

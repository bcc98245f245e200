package agent

import (
	"errors"
	"io"
	"os"

	"github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/sftpfs"
)

// handleSFTP serves the sftp subsystem: sftp, and scp in its default
// mode (OpenSSH 9 and later speak sftp underneath). Relative paths start
// in $HOME, as with OpenSSH's sftp server: OpenSSH's scp strips a leading
// "~/" counting on it, and a client that does not expand "~" itself sends
// it as it is, so "~" and "~/..." mean $HOME here too. (A shell starts in
// the workspace; that is the point of the pause.)
//
// It is pkg/sftp's request server over the runner's file system rather
// than its plain server, so that every file read or written is in the
// audit trail (sftpfs, sftpAudit). Like an exec session, it never ends the pause.
func (s *server) handleSFTP(sess ssh.Session) {
	ls := s.register(sess, kindSFTP, false)
	if ls == nil {
		sess.Exit(255) //nolint:errcheck // the client may be gone
		return
	}
	defer s.unregister(ls)
	al := s.sessionAudit(ls)
	al.Info(audit.SessionStart, "session started")

	start := s.home
	if fi, err := os.Stat(start); start == "" || err != nil || !fi.IsDir() {
		start = s.workdir()
	}
	if start == "" {
		if wd, err := os.Getwd(); err == nil {
			start = wd
		}
	}
	home := sftpfs.Path(start)
	fs := sftpfs.New(home, sftpAudit{al})
	rs := sftp.NewRequestServer(sess, sftp.Handlers{FileGet: fs, FilePut: fs, FileCmd: fs, FileList: fs},
		sftp.WithStartDirectory(home))

	// The end of the pause ends the session: the exit status goes out
	// and the channel closes, which ends Serve.
	served := make(chan struct{})
	go func() {
		select {
		case <-ls.stop:
			sess.Exit(0) //nolint:errcheck // the client may be gone
		case <-served:
		}
	}()
	err := rs.Serve()
	close(served)
	status := 0
	if err != nil && !errors.Is(err, io.EOF) {
		status = 1
	}
	s.auditSessionEnd(al, ls, status, false)
	// The exit status first, then the server's close: a client that sees
	// its channel close without a status (scp does) reports a failure,
	// although every file arrived.
	sess.Exit(status) //nolint:errcheck // the client may be gone, or the pause ended it
	rs.Close()        //nolint:errcheck // the channel is closed already
}

// sftpAudit records an sftp session's file changes and transfers in its
// audit trail.
type sftpAudit struct{ al audit.Log }

// Changed records a file changed by the client.
func (a sftpAudit) Changed(op, path, target string) {
	kv := []any{"op", op, "path", path}
	if target != "" {
		kv = append(kv, "target", target)
	}
	a.al.Info(audit.FileChange, "sftp "+op, kv...)
}

// Transferred records a file downloaded or uploaded.
func (a sftpAudit) Transferred(direction, path string, n int64, failed error) {
	kv := []any{"protocol", "sftp", "direction", direction, "path", path, "bytes", n}
	if failed != nil {
		kv = append(kv, "incomplete", failed)
	}
	a.al.Info(audit.Transfer, "sftp "+direction+" "+path, kv...)
}

// Package audit writes the agent's audit trail: who logged in, with which
// key, from where, and what they started, forwarded and transferred. Each
// event goes to the job log and, when the pause has an audit file, to that
// file as one JSON object per line.
//
// Events carry who (github_user or key_source, key_fingerprint), from
// where (remote_addr) and what, but never key material, tokens or what a
// session reads or writes.
package audit

import (
	"fmt"
	"os"

	"github.com/rs/zerolog"
)

// Events, the "event" field of every entry of the audit trail.
const (
	Login          = "login"          // a connection proved it holds an authorized key
	Logout         = "logout"         // a logged-in connection ended
	KeyRefused     = "key_refused"    // a public key that may not log in was offered
	MethodRefused  = "method_refused" // a password or keyboard-interactive attempt
	ConnRefused    = "conn_refused"   // a connection closed before login by a limit
	RunRefused     = "run_refused"    // the agent refused to start (who may debug)
	SessionStart   = "session_start"  // shell, exec or sftp
	SessionEnd     = "session_end"    // with its exit status
	Transfer       = "file_transfer"  // a file read or written over sftp or scp
	FileChange     = "file_change"    // a rename, removal or new directory over sftp
	Forward        = "forward"        // a forwarded connection or listener opened
	ForwardEnd     = "forward_end"    // and closed, with the bytes it carried
	ForwardRefused = "forward_refused"
	TermStart      = "terminal_start"  // a shell on a pty started
	TermEnd        = "terminal_end"    // and exited, or was hung up
	TermAttach     = "terminal_attach" // a client joined a terminal, or came back to it
	TermDetach     = "terminal_detach" // and left, or its connection dropped
)

// Trail is the audit trail of one pause: the job log, and the audit file
// if there is one.
type Trail struct {
	job  zerolog.Logger
	file zerolog.Logger // zerolog.Nop() without an audit file
	f    *os.File
}

// Open starts a trail writing to job and, when path is not empty, to the
// file at path, created with mode 0600 or appended to.
func Open(job zerolog.Logger, path string) (*Trail, error) {
	a := &Trail{job: job, file: zerolog.Nop()}
	if path == "" {
		return a, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	a.f = f
	// SyncWriter: each event is one Write of one whole line, however many
	// connections log at once.
	a.file = zerolog.New(zerolog.SyncWriter(f)).With().Timestamp().Logger()
	return a, nil
}

// Close closes the audit file.
func (a *Trail) Close() {
	if a.f != nil {
		a.f.Close() //nolint:errcheck // every event was written with its own Write
	}
}

// Refused records in the audit file that the agent refused to start,
// and returns err. The job log gets err from the caller, once.
func (a *Trail) Refused(err error) error {
	a.file.Info().Str("event", RunRefused).Str("reason", err.Error()).Msg("refused to start")
	return err
}

// Root is the log for events about the pause as a whole; the others are
// made from it With their fields.
func (a *Trail) Root() Log { return Log{job: a.job, file: a.file} }

// Log writes audit events to both the job log and the audit file. The
// fields of what the events are about are attached once, when it is made:
// a connection's address when it arrives, who logged in with which key
// once it has, then what a session, terminal or forward is. Fields are
// key-value lists as zerolog's Fields takes them: a string key, then its
// value. The caller computes each value once, so both logs get the same
// one. Its zero value writes nowhere.
type Log struct {
	job, file zerolog.Logger
}

// With returns l with the fields kv added to every event.
func (l Log) With(kv ...any) Log {
	return Log{job: l.job.With().Fields(kv).Logger(), file: l.file.With().Fields(kv).Logger()}
}

// Info writes one audit event, at info level like every audit event,
// with msg for the people reading the job log and kv for what is
// particular to it.
func (l Log) Info(event, msg string, kv ...any) {
	l.job.Info().Str("event", event).Fields(kv).Msg(msg)
	l.file.Info().Str("event", event).Fields(kv).Msg(msg)
}

// Warn writes a warning to the job log alone, with l's fields: something
// that went wrong about what l is about, which is not an event of the
// trail.
func (l Log) Warn(err error, msg string) { l.job.Warn().Err(err).Msg(msg) }

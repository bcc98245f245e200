package agent

import (
	"fmt"
	"os"

	"github.com/rs/zerolog"
)

// Audit events, the "event" field of every entry of the audit trail.
const (
	evLogin         = "login"          // a connection proved it holds an authorized key
	evLogout        = "logout"         // a logged-in connection ended
	evKeyRefused    = "key_refused"    // a public key that may not log in was offered
	evMethodRefused = "method_refused" // a password or keyboard-interactive attempt
	evConnRefused   = "conn_refused"   // a connection closed before login by a limit
	evRunRefused    = "run_refused"    // the agent refused to start (who may debug)
	evSessionStart  = "session_start"  // shell, exec or sftp
	evSessionEnd    = "session_end"    // with its exit status
	evTransfer      = "file_transfer"  // a file read or written over sftp or scp
	evFileChange    = "file_change"    // a rename, removal or new directory over sftp
	evForward       = "forward"        // a forwarded connection or listener opened
	evForwardEnd    = "forward_end"    // and closed, with the bytes it carried
	evForwardDenied = "forward_refused"
	evTermStart     = "terminal_start"  // a shell on a pty started (terminal.go)
	evTermEnd       = "terminal_end"    // and exited, or was hung up
	evTermAttach    = "terminal_attach" // a client joined a terminal, or came back to it
	evTermDetach    = "terminal_detach" // and left, or its connection dropped
)

// auditor writes the audit trail: each event goes to the job log and,
// with Config.AuditLog, to a file as one JSON object per line. Events
// carry who (github_user or key_source, key_fingerprint), from where
// (remote_addr) and what, but never key material, tokens or what a
// session reads or writes.
type auditor struct {
	job  zerolog.Logger
	file zerolog.Logger // zerolog.Nop() without an audit file
	f    *os.File
}

// openAudit opens the audit file, if one is configured.
func openAudit(cfg Config) (*auditor, error) {
	a := &auditor{job: cfg.Log, file: zerolog.Nop()}
	if cfg.AuditLog == "" {
		return a, nil
	}
	f, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	a.f = f
	// SyncWriter: each event is one Write of one whole line, however many
	// connections log at once.
	a.file = zerolog.New(zerolog.SyncWriter(f)).With().Timestamp().Logger()
	return a, nil
}

// close closes the audit file.
func (a *auditor) close() {
	if a.f != nil {
		a.f.Close() //nolint:errcheck // every event was written with its own Write
	}
}

// runRefused records in the audit file that the agent refused to start,
// and returns err. The job log gets err from the caller, once.
func (a *auditor) runRefused(err error) error {
	a.file.Info().Str("event", evRunRefused).Str("reason", err.Error()).Msg("refused to start")
	return err
}

// auditLog is the pair of loggers events go to, with the fields of one
// connection or session attached.
type auditLog struct {
	job, file zerolog.Logger
}

func (a *auditor) root() auditLog { return auditLog{job: a.job, file: a.file} }

// with adds fields to both loggers.
func (l auditLog) with(f func(zerolog.Context) zerolog.Context) auditLog {
	return auditLog{job: f(l.job.With()).Logger(), file: f(l.file.With()).Logger()}
}

// event writes one audit event at level, with msg for people reading
// the job log; fields adds what is particular to it (nil: nothing).
func (l auditLog) event(level zerolog.Level, event, msg string, fields func(*zerolog.Event) *zerolog.Event) {
	for _, lg := range []zerolog.Logger{l.job, l.file} {
		e := lg.WithLevel(level).Str("event", event)
		if fields != nil {
			e = fields(e)
		}
		e.Msg(msg)
	}
}

// info is event at info level, the level of every normal audit event.
func (l auditLog) info(event, msg string, fields func(*zerolog.Event) *zerolog.Event) {
	l.event(zerolog.InfoLevel, event, msg, fields)
}

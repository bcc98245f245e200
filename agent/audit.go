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

// auditLog writes audit events to both the job log and the audit file.
// The fields of what the events are about are attached once, when it is
// made: a connection's address when it arrives (trackConn), who logged in
// with which key once it has (loginProven), then what a session, terminal
// or forward is. Fields are key-value lists as zerolog's Fields takes
// them: a string key, then its value. The caller computes each value
// once, so both logs get the same one.
type auditLog struct {
	job, file zerolog.Logger
}

func (a *auditor) root() auditLog { return auditLog{job: a.job, file: a.file} }

// with returns l with the fields kv added to every event.
func (l auditLog) with(kv ...any) auditLog {
	return auditLog{job: l.job.With().Fields(kv).Logger(), file: l.file.With().Fields(kv).Logger()}
}

// info writes one audit event, at info level like every audit event,
// with msg for the people reading the job log and kv for what is
// particular to it.
func (l auditLog) info(event, msg string, kv ...any) {
	l.job.Info().Str("event", event).Fields(kv).Msg(msg)
	l.file.Info().Str("event", event).Fields(kv).Msg(msg)
}

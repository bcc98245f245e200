package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The control socket lets programs run inside a session talk to the agent:
// "pitstop continue", "pitstop extend 30m", "pitstop status". It is a Unix
// socket in a directory created with mode 0700, so only the runner's user
// (and root) can open it. Each connection carries one JSON request and one
// JSON response.

// Status is what "pitstop status" shows.
type Status struct {
	Label     string    `json:"label"`
	Now       time.Time `json:"now"`
	StartedAt time.Time `json:"started_at"`
	// Deadline is when MaxDuration, plus any extension, runs out.
	Deadline time.Time `json:"deadline"`
	// Limit is as far as pitstop extend can move Deadline: when the
	// job's own time limit would cancel it (Config.JobLimit).
	Limit time.Time `json:"limit"`
	// WaitingUntil is set while nobody is connected: the end of the wait
	// for a first connection, or of the reconnect grace period.
	WaitingUntil time.Time     `json:"waiting_until,omitzero"`
	Connections  int           `json:"connections"`
	Sessions     []SessionInfo `json:"sessions"`
	// Mode is ModePause, ModeDetached or ModeHolding.
	Mode string `json:"mode"`
	// JobStep is what a detached pause's job runs now, as far as the
	// agent can see ("" when it cannot tell, or the job is not running).
	JobStep string `json:"job_step,omitempty"`
	// Terminals are the shells on a pty, attached or not (agent/term).
	Terminals []TerminalInfo `json:"terminals"`
	// Step is the job step the pause stands for; nil when there is none.
	Step *Step `json:"step,omitempty"`
}

// Remaining is the time left until Deadline, as of Now.
func (s Status) Remaining() time.Duration { return s.Deadline.Sub(s.Now) }

// SessionInfo describes one live session.
type SessionInfo struct {
	ID             int       `json:"id"`
	User           string    `json:"user"` // forge user, or a directly given key's comment (else its source's base name)
	KeyFingerprint string    `json:"key_fingerprint"`
	RemoteAddr     string    `json:"remote_addr"`
	Kind           string    `json:"kind"` // "shell" or "exec"
	PTY            bool      `json:"pty"`
	Since          time.Time `json:"since"`
}

// Request is what a client sends, one per connection, in JSON.
type Request struct {
	Op       string `json:"op"`                 // "continue", "extend", "status", "hold", "cancel" or "attach"
	Duration string `json:"duration,omitempty"` // for "extend", in time.ParseDuration form
	// For "hold" (see wire.HoldRequest).
	Hold      string `json:"hold,omitempty"`
	JobStatus string `json:"job_status,omitempty"`
	// For "attach" (agent's terminal_control.go serves it).
	Attach *AttachRequest `json:"attach,omitempty"`
}

// Response is the agent's one answer to a Request; after an "attach"
// that succeeded, the terminal's frames follow on the same connection.
type Response struct {
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
	// Attached is the terminal an "attach" joined.
	Attached *TerminalInfo `json:"attached,omitempty"`
}

// Timeout bounds one request on either side.
const Timeout = 5 * time.Second

// ErrNoSocket is returned by the control clients when no socket path is
// known: the caller is not inside a pitstop session.
var ErrNoSocket = errors.New("not inside a pitstop session (" + SocketEnv + " is not set)")

// Continue ends the pause of the agent listening on socket; the job goes
// on. It returns the status as of just before the end.
func Continue(ctx context.Context, socket string) (Status, error) {
	return call(ctx, socket, Request{Op: "continue"})
}

// Extend adds d to the agent's maximum duration and returns the new
// status.
func Extend(ctx context.Context, socket string, d time.Duration) (Status, error) {
	return call(ctx, socket, Request{Op: "extend", Duration: d.String()})
}

// QueryStatus returns who is connected and how much time is left.
func QueryStatus(ctx context.Context, socket string) (Status, error) {
	return call(ctx, socket, Request{Op: "status"})
}

func call(ctx context.Context, socket string, req Request) (Status, error) {
	if socket == "" {
		return Status{}, ErrNoSocket
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	conn, err := Dial(ctx, socket)
	if err != nil {
		return Status{}, fmt.Errorf("reach the pitstop agent at %s (has the pause ended?): %w", socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck // unix sockets support deadlines
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Status{}, fmt.Errorf("send %s request: %w", req.Op, err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return Status{}, fmt.Errorf("read %s answer: %w", req.Op, err)
	}
	if resp.Error != "" {
		return Status{}, fmt.Errorf("%s: %s", req.Op, resp.Error)
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("read %s answer: no status in it", req.Op)
	}
	return *resp.Status, nil
}

// SocketEnv names the variable that tells "pitstop continue" and friends,
// run inside a session, where the agent's control socket is.
const SocketEnv = "PITSTOP_SOCKET"

// Mode values of Status.
const (
	ModePause    = "pause"    // an ordinary pause: the job waits
	ModeDetached = "detached" // the job runs on; users may connect
	ModeHolding  = "holding"  // a detached pause holds the end of the job
)

// AttachRequest asks to join a terminal.
type AttachRequest struct {
	Terminal int  `json:"terminal"` // 0: the only other one
	From     int  `json:"from"`     // the terminal the command runs in
	ReadOnly bool `json:"read_only"`
	Cols     int  `json:"cols"`
	Rows     int  `json:"rows"`
}

// TerminalInfo describes a terminal, for "pitstop status" and the banner.
type TerminalInfo struct {
	ID      int       `json:"id"`
	Owner   string    `json:"owner"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	// LastActive is the time of the last input or output: idle time is
	// the time since.
	LastActive time.Time `json:"last_active"`
	// DetachedSince is set while nobody is attached: the shell is hung up
	// ReconnectGrace after it.
	DetachedSince time.Time    `json:"detached_since,omitzero"`
	Clients       []ClientInfo `json:"clients"`
}

// ClientInfo is someone attached to a terminal.
type ClientInfo struct {
	User     string    `json:"user"`
	ReadOnly bool      `json:"read_only"`
	Since    time.Time `json:"since"`
}

// Describe says who is attached and how long the terminal has been idle,
// as of now.
func (ti TerminalInfo) Describe(now time.Time) string {
	idle := "idle " + now.Sub(ti.LastActive).Round(time.Second).String()
	if len(ti.Clients) == 0 {
		return "detached " + now.Sub(ti.DetachedSince).Round(time.Second).String() + ", " + idle
	}
	var who []string
	for _, c := range ti.Clients {
		if c.ReadOnly {
			who = append(who, c.User+" (read-only)")
		} else {
			who = append(who, c.User)
		}
	}
	return "attached: " + strings.Join(who, ", ") + "; " + idle
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
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
	// Terminals are the shells on a pty, attached or not (terminal.go).
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

type controlRequest struct {
	Op       string `json:"op"`                 // "continue", "extend", "status", "hold", "cancel" or "attach"
	Duration string `json:"duration,omitempty"` // for "extend", in time.ParseDuration form
	// For "hold" (see HoldRequest).
	Hold      string `json:"hold,omitempty"`
	JobStatus string `json:"job_status,omitempty"`
	// For "attach" (terminal_control.go).
	Attach *attachRequest `json:"attach,omitempty"`
}

type controlResponse struct {
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
	// Attached is the terminal an "attach" joined.
	Attached *TerminalInfo `json:"attached,omitempty"`
}

// controlTimeout bounds one request on either side.
const controlTimeout = 5 * time.Second

// continueDelay is how long the pause goes on after answering continue.
const continueDelay = 200 * time.Millisecond

// controlHandler is what the control socket's requests act on: the
// pause and the terminals, which the server holds. Each method serves one
// kind of request; an interface rather than loose callbacks, so the
// socket's whole surface is in one place and a test can stand in for it.
type controlHandler interface {
	// status answers "status", and every request that succeeds.
	status() Status
	// continuePause ends the pause ("continue"), after the answer went out.
	continuePause()
	// extendPause adds d to the pause ("extend").
	extendPause(d time.Duration) error
	// endOfJob and cancelEndOfJob serve a detached pause's end-of-job
	// step ("hold", and "cancel" when that step is cancelled).
	endOfJob(HoldRequest) error
	cancelEndOfJob()
	// controlAttach serves "attach": it answers, then carries the
	// terminal over conn until either side is done.
	controlAttach(conn net.Conn, req attachRequest)
}

// controlServer answers requests on the socket.
type controlServer struct {
	ln net.Listener
	h  controlHandler
	wg sync.WaitGroup
}

func (c *controlServer) serve() {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := c.ln.Accept()
			if err != nil {
				return // closed
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.handle(conn)
			}()
		}
	}()
}

func (c *controlServer) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(controlTimeout)) //nolint:errcheck // unix sockets support deadlines
	var req controlRequest
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		json.NewEncoder(conn).Encode(controlResponse{Error: "bad request: " + err.Error()}) //nolint:errcheck // peer may be gone
		return
	}
	if req.Op == "attach" && req.Attach != nil {
		c.h.controlAttach(conn, *req.Attach)
		return
	}
	var resp controlResponse
	after := func() {}
	switch req.Op {
	case "continue":
		st := c.h.status()
		resp.Status = &st
		// Answer first, then end the pause: ending it stops the session
		// the request came from.
		after = c.h.continuePause
	case "extend":
		d, err := time.ParseDuration(req.Duration)
		if err == nil {
			err = c.h.extendPause(d)
		}
		if err != nil {
			resp.Error = err.Error()
			break
		}
		st := c.h.status()
		resp.Status = &st
	case "status":
		st := c.h.status()
		resp.Status = &st
	case "hold":
		if err := c.h.endOfJob(HoldRequest{Hold: req.Hold, JobStatus: req.JobStatus}); err != nil {
			resp.Error = err.Error()
			break
		}
		st := c.h.status()
		resp.Status = &st
	case "cancel":
		st := c.h.status()
		resp.Status = &st
		after = c.h.cancelEndOfJob
	default:
		resp.Error = fmt.Sprintf("unknown request %q", req.Op)
	}
	json.NewEncoder(conn).Encode(resp) //nolint:errcheck // peer may be gone
	conn.Close()
	if req.Op == "continue" {
		// Ending the pause hangs up the session "pitstop continue" runs
		// in; give it a moment to print its answer first.
		time.Sleep(continueDelay)
	}
	after()
}

func (c *controlServer) close() {
	c.ln.Close()
	c.wg.Wait()
}

// ErrNoSocket is returned by the control clients when no socket path is
// known: the caller is not inside a pitstop session.
var ErrNoSocket = errors.New("not inside a pitstop session (" + SocketEnv + " is not set)")

// Continue ends the pause of the agent listening on socket; the job goes
// on. It returns the status as of just before the end.
func Continue(ctx context.Context, socket string) (Status, error) {
	return call(ctx, socket, controlRequest{Op: "continue"})
}

// Extend adds d to the agent's maximum duration and returns the new
// status.
func Extend(ctx context.Context, socket string, d time.Duration) (Status, error) {
	return call(ctx, socket, controlRequest{Op: "extend", Duration: d.String()})
}

// QueryStatus returns who is connected and how much time is left.
func QueryStatus(ctx context.Context, socket string) (Status, error) {
	return call(ctx, socket, controlRequest{Op: "status"})
}

func call(ctx context.Context, socket string, req controlRequest) (Status, error) {
	if socket == "" {
		return Status{}, ErrNoSocket
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	conn, err := dialControl(ctx, socket)
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
	var resp controlResponse
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

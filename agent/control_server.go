package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// The server side of the control socket (agent/control has the
// protocol and its clients).

// continueDelay is how long the pause goes on after answering continue.
const continueDelay = 200 * time.Millisecond

// controlHandler is what the control socket's requests act on: the
// pause and the terminals, which the server holds. Each method serves one
// kind of request; an interface rather than loose callbacks, so the
// socket's whole surface is in one place and a test can stand in for it.
type controlHandler interface {
	// status answers "status", and every request that succeeds.
	status() control.Status
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
	controlAttach(conn net.Conn, req control.AttachRequest)
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
	conn.SetDeadline(time.Now().Add(control.Timeout)) //nolint:errcheck // unix sockets support deadlines
	var req control.Request
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		json.NewEncoder(conn).Encode(control.Response{Error: "bad request: " + err.Error()}) //nolint:errcheck // peer may be gone
		return
	}
	if req.Op == "attach" && req.Attach != nil {
		c.h.controlAttach(conn, *req.Attach)
		return
	}
	var resp control.Response
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

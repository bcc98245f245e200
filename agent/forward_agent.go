package agent

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/forward"
	"github.com/pitstopci/pitstop/agent/term"
)

// Agent forwarding ("ssh -A"), off unless Config.AllowAgentForwarding:
// a shell's SSH_AUTH_SOCK reaches the agent of its session's client, or
// of the one attached to its terminal now. agent/forward has "ssh -L"
// and "ssh -R".

// sessionAgent is the agent of sess's client, for a session that asked
// for agent forwarding.
func sessionAgent(sess ssh.Session) (term.AgentDialer, error) {
	conn, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn)
	if !ok {
		return nil, fmt.Errorf("forward agent: no SSH connection")
	}
	ctx := sess.Context()
	return func() (gossh.Channel, context.Context, error) {
		ch, reqs, err := conn.OpenChannel("auth-agent@openssh.com", nil)
		if err != nil {
			return nil, nil, err
		}
		go gossh.DiscardRequests(reqs)
		return ch, ctx, nil
	}, nil
}

// forwardAgent makes a socket in a private directory whose connections
// are carried to the agent dial reaches at the time, for a shell's
// SSH_AUTH_SOCK: a session's client, or the one attached to a terminal
// now. stop closes it and waits for its goroutines.
func (s *server) forwardAgent(dial func() (term.AgentDialer, bool), al audit.Log) (sock string, stop func(), err error) {
	dir, err := os.MkdirTemp(s.cfg.ControlDir, "pitstop-agent-")
	if err != nil {
		return "", nil, fmt.Errorf("forward agent: %w", err)
	}
	ln, sock, err := control.ListenAgent(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("forward agent: %w", err)
	}
	al = al.With("forward", "agent")
	al.Info(audit.Forward, "agent forwarding (ssh -A) for this session")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, ok := dial()
			if !ok {
				c.Close() // nobody's agent to reach: as an agent gone away
				continue
			}
			ch, ctx, err := d()
			if err != nil {
				c.Close()
				continue
			}
			// Each use ends when the program closes the socket or the
			// client's connection ends, whichever is first.
			go forward.Splice(ctx, ch, c)
		}
	}()
	return sock, func() {
		ln.Close()
		os.RemoveAll(dir)
		wg.Wait()
	}, nil
}

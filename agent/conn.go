package agent

// A connection's way from accept to close: admitted within the limits,
// its version line exchanged, its login grace time, the login proven, its
// keepalives, its end.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/agent/limits"
	gossh "golang.org/x/crypto/ssh"
)

// trackedConn lets the server close connections still in the handshake,
// which gliderlabs does not track, and wait for their goroutines. It also
// hides from x/crypto that trackConn already exchanged version lines.
type trackedConn struct {
	net.Conn
	once sync.Once
	done func()
	r    io.Reader // what trackConn read, then the connection
	sent []byte    // the version line trackConn sent, until x/crypto sends it
	// reads counts the reads that returned data: the client was heard
	// from (keepalive.go).
	reads atomic.Uint64
}

// Read replays what trackConn read before it reads the connection.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// Write drops x/crypto's version line, which trackConn already sent.
// It is x/crypto's first write, made before anything else can write.
func (c *trackedConn) Write(p []byte) (int, error) {
	if c.sent != nil {
		sent := c.sent
		c.sent = nil
		if bytes.Equal(p, sent) {
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// Close is called by gliderlabs as its connection goroutine ends.
func (c *trackedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}

// connState is one TCP connection, from accept to close.
type connState struct {
	conn  *trackedConn
	slot  *limits.Slot // its place among connections logging in (agent/limits)
	grace clock.Timer  // closes it if it has not logged in in time
	info  *connInfo    // set, under server.mu, once it logged in
	audit audit.Log    // its events before login, with its address
	// alive watches it once it logged in (keepalive.go); lost says, once
	// it closed the connection, for how long the client had been silent.
	alive *keepalive
	lost  atomic.Value // string
}

// trackConn admits a new connection within the limits (agent/limits), and
// starts its login grace time. It sends the server's version line and
// reads the client's itself: until a connection has sent one it is idle,
// and the first to be closed for a newcomer.
func (s *server) trackConn(ctx ssh.Context, c net.Conn) net.Conn {
	host := limits.HostOf(c.RemoteAddr())
	al := s.audit.Root().With("remote_addr", c.RemoteAddr().String())
	refused := func(msg, reason string) {
		s.preLogin(al, audit.ConnRefused, msg, "reason", reason)
	}
	// gliderlabs calls this on the connection's own goroutine, so a
	// connection waiting here keeps nobody else waiting. It waits for at
	// most half its login grace time, and keeps the rest to log in.
	clk := s.cfg.clock()
	start := clk.Now()
	wait := s.cfg.LoginGraceTime / 2
	evict := func() {
		refused("closed a connection that had not logged in, to make room for another", "evicted")
		c.Close()
	}
	sl, why := s.limits.Arrive(host, evict)
	if sl == nil {
		refused("closed a connection before login: "+why, why)
		c.Close()
		return nil // gliderlabs drops it
	}
	prefix, err := exchangeVersions(clk, c, start.Add(wait))
	if err != nil {
		s.limits.Release(sl)
		if errors.Is(err, errNoVersion) {
			refused("closed a connection that sent no SSH version line within "+wait.String(), "no version line")
		}
		c.Close()
		return nil
	}
	if why := s.limits.Place(sl, start, wait); why != "" {
		s.limits.Release(sl)
		if why != limits.Evicted {
			refused("closed a connection before login: "+why, why)
		}
		c.Close()
		return nil
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.limits.Release(sl)
		c.Close()
		return nil
	}
	cs := &connState{conn: &trackedConn{Conn: c, r: io.MultiReader(bytes.NewReader(prefix), c), sent: []byte(serverVersion + "\r\n")}, slot: sl, audit: al}
	cs.conn.done = func() { s.connEnded(cs) }
	grace := s.cfg.LoginGraceTime - clk.Now().Sub(start)
	cs.grace = clk.AfterFunc(grace, func() { s.loginTimedOut(cs) })
	s.raw[cs.conn] = struct{}{}
	s.rawWG.Add(1)
	s.mu.Unlock()
	ctx.SetValue(ctxKeyConn, cs)
	return cs.conn
}

// errNoVersion is exchangeVersions' error for a client that sent no
// version line in time.
var errNoVersion = errors.New("no SSH version line in time")

// exchangeVersions sends the server's version line on c and reads the
// client's, by deadline (by clk). It returns everything it read, for
// x/crypto to read again. Both sides send their version line as soon as the
// connection is up (RFC 4253, section 4.2); sending the server's first
// serves a client that waits for it, too.
func exchangeVersions(clk clock.Clock, c net.Conn, deadline time.Time) ([]byte, error) {
	// A timer that closes c rather than a deadline: connections through
	// the relay are SSH channels, which have none.
	timer := clk.AfterFunc(deadline.Sub(clk.Now()), func() { c.Close() })
	if _, err := io.WriteString(c, serverVersion+"\r\n"); err != nil {
		timer.Stop()
		return nil, err
	}
	// x/crypto allows 255 bytes; a longer line is not SSH.
	br := bufio.NewReaderSize(c, 256)
	line, err := br.ReadSlice('\n')
	if !timer.Stop() {
		return nil, errNoVersion
	}
	if err != nil {
		return nil, err
	}
	prefix := append([]byte(nil), line...)
	rest, _ := br.Peek(br.Buffered())
	return append(prefix, rest...), nil
}

// loginTimedOut closes a connection that did not log in within
// LoginGraceTime.
func (s *server) loginTimedOut(cs *connState) {
	s.mu.Lock()
	loggedIn := cs.info != nil
	s.mu.Unlock()
	if loggedIn {
		return
	}
	s.preLogin(cs.audit, audit.ConnRefused, "closed a connection that did not log in within "+s.cfg.LoginGraceTime.String(), "reason", "login grace time")
	cs.conn.Conn.Close() // not cs.conn.Close: that is gliderlabs' signal that it is done
}

// penalize records a failed attempt from addr and, once that address
// has used up its budget, holds the answer back (agent/limits).
func (s *server) penalize(ctx ssh.Context, addr net.Addr) {
	delay, first := s.limits.Failed(limits.HostOf(addr))
	if delay == 0 {
		return
	}
	if first {
		if ok, _ := s.budget.take(); ok {
			s.log.Warn().Str("remote_addr", addr.String()).Str("delay", delay.String()).
				Msg("many failed logins from this address: slowing down its refusals")
		}
	}
	fired, t := s.cfg.clock().NewTimer(delay)
	defer t.Stop()
	select {
	case <-fired:
	case <-ctx.Done():
	}
}

// loginProven records a login: the client has proved it holds an
// authorized key. Anyone can offer a user's published public key, so a
// key accepted by authorize is not yet a login.
func (s *server) loginProven(ctx ssh.Context) {
	cs, _ := ctx.Value(ctxKeyConn).(*connState)
	ak, _ := ctx.Value(ctxKeyAuth).(access.Key)
	if cs == nil {
		return
	}
	s.mu.Lock()
	if cs.info != nil || s.closing {
		s.mu.Unlock()
		return
	}
	info := &connInfo{user: ak.Owner, name: ak.Name, forge: ak.Forge, fingerprint: ak.Fingerprint, remote: cs.conn.RemoteAddr().String(), since: s.cfg.Now()}
	info.audit = s.audit.Root().With(ownerKey(info.forge), info.user, "key_fingerprint", info.fingerprint, "remote_addr", info.remote)
	cs.info = info
	s.conns[cs] = info
	s.logins = append(s.logins, markdownText(info.name)+" from "+info.remote) // markdown: the summary's
	s.limits.Release(cs.slot)
	s.connWG.Add(1)
	s.mu.Unlock()
	cs.grace.Stop()

	info.audit.Info(audit.Login, "logged in")
	s.pause.connOpened()
	s.watchAlive(ctx, cs)
}

// aborter is a connection that can be closed without waiting for its far
// side to answer, as upterm's relayed connections can: a relay whose guest
// left may never answer.
type aborter interface{ Abort() }

// watchAlive starts the keepalives of a connection that logged in, unless
// they are turned off.
func (s *server) watchAlive(ctx ssh.Context, cs *connState) {
	if s.cfg.ClientAliveInterval < 0 {
		return
	}
	k := &keepalive{
		clk:      s.cfg.clock(),
		interval: s.cfg.ClientAliveInterval,
		countMax: s.cfg.ClientAliveCountMax,
		reads:    &cs.conn.reads,
		conn: func() gossh.Conn {
			c, _ := ctx.Value(ssh.ContextKeyConn).(gossh.Conn)
			return c
		},
		lost: func(silent string) {
			cs.lost.Store(silent)
			if a, ok := cs.conn.Conn.(aborter); ok {
				a.Abort() // nothing sent now would reach the client
			}
			cs.conn.Conn.Close() // not cs.conn.Close: that is gliderlabs' signal that it is done
		},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[cs]; ok { // else it ended already: connEnded saw no keepalive to stop
		cs.alive = k
		k.start()
	}
}

// connEnded runs once, when gliderlabs is done with a connection.
func (s *server) connEnded(cs *connState) {
	s.mu.Lock()
	delete(s.raw, cs.conn)
	info := cs.info
	if info == nil {
		s.limits.Release(cs.slot)
	} else {
		delete(s.conns, cs)
	}
	alive := cs.alive
	s.mu.Unlock()
	cs.grace.Stop()
	if alive != nil {
		alive.stop()
	}
	if info != nil {
		kv := []any{"connected_for", s.cfg.Now().Sub(info.since).Round(time.Second).String()}
		if silent, _ := cs.lost.Load().(string); silent != "" {
			kv = append(kv, "reason", "the client answered no keepalive for "+silent)
		}
		info.audit.Info(audit.Logout, "logged out", kv...)
		s.pause.connClosed()
		s.connWG.Done()
	}
	s.rawWG.Done()
}

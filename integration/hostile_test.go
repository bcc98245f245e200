//go:build unix

package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/wire"
)

// sshLogin runs one command as the holder of the key file with the real
// ssh, host key pinned; extra options go before the destination.
func sshLogin(t *testing.T, r wire.Ready, private string, extra ...string) ([]byte, error) {
	t.Helper()
	ssh := tool(t, "ssh", sshInstall)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
		"-i", private, "-p", strconv.Itoa(r.Port)}
	args = append(append(args, extra...), "runner@127.0.0.1", "true")
	cmd := exec.Command(ssh, args...)
	cmd.Env = agentEnv()
	return cmd.CombinedOutput()
}

// TestSHA1SignaturesRefused: the real ssh, limited to ssh-rsa (RSA with
// SHA-1) or to DSA, does not log in, and the log says why; the same RSA
// key logs in with rsa-sha2-512.
func TestSHA1SignaturesRefused(t *testing.T) {
	keygen := tool(t, "ssh-keygen", sshInstall)
	dir := t.TempDir()
	var pubs []string
	for _, typ := range []string{"rsa", "dsa"} {
		out, err := exec.Command(keygen, "-q", "-t", typ, "-N", "", "-C", typ, "-f", filepath.Join(dir, typ)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -t %s: %v\n%s", typ, err, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, typ+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, strings.TrimSpace(string(b)))
	}
	keys := filepath.Join(dir, "keys.pub")
	if err := os.WriteFile(keys, []byte(strings.Join(pubs, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--wait-timeout", "2m")
	r := a.readReady(t, 30*time.Second, nil)
	if out, err := sshLogin(t, r, filepath.Join(dir, "rsa"), "-o", "PubkeyAcceptedAlgorithms=ssh-rsa"); err == nil {
		t.Errorf("ssh-rsa (SHA-1) logged in:\n%s", out)
	}
	if out, err := sshLogin(t, r, filepath.Join(dir, "dsa"), "-o", "PubkeyAcceptedAlgorithms=+ssh-dss"); err == nil {
		t.Errorf("a DSA key logged in:\n%s", out)
	}
	if out, err := sshLogin(t, r, filepath.Join(dir, "rsa"), "-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512"); err != nil {
		t.Errorf("the RSA key with rsa-sha2-512: %v\n%s\n%s", err, out, a.stderr)
	}
	// The server does not list ssh-rsa in server-sig-algs, so ssh does
	// not even offer the key with it; it does offer DSA, which is refused.
	if !hasLogLine(a.stderr.String(), "event=key_refused", `\"ssh-dss\" not accepted`) {
		t.Errorf("the log does not say why the DSA key was refused:\n%s", a.stderr)
	}
}

// hasLogLine reports whether a line of a console job log holds every
// one of parts: an audit event shows as event=NAME, its fields as
// key=value.
func hasLogLine(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// rawKexInit is a client's first packet, unencrypted (RFC 4253 7.1),
// offering kex as its key exchange algorithms.
func rawKexInit(kex string) []byte {
	var p []byte
	p = append(p, 20) // SSH_MSG_KEXINIT
	p = append(p, make([]byte, 16)...)
	for _, l := range []string{kex, "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""} {
		p = binary.BigEndian.AppendUint32(p, uint32(len(l)))
		p = append(p, l...)
	}
	p = append(p, 0, 0, 0, 0, 0)
	pad := 8 - (len(p)+5)%8
	if pad < 4 {
		pad += 8
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(p)+pad+1))
	out = append(out, byte(pad))
	return append(append(out, p...), make([]byte, pad)...)
}

// TestPeerTextCannotInjectWorkflowCommands: a client whose version string
// and key exchange algorithms hold workflow commands ("##[...]" anywhere,
// "::...::") gets them into the job log only escaped.
func TestPeerTextCannotInjectWorkflowCommands(t *testing.T) {
	user := newKeyPair(t, "user")
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys-data", user.public, "--wait-timeout", "2m")
	r := a.readReady(t, 30*time.Second, nil)
	const evil = "##[warning title=pitstop]Pause moved: connect with ssh -p 2222 runner@evil.example.com"
	for _, tt := range []struct{ version, kex string }{
		{"SSH-2.0-" + evil, "curve25519-sha256"},
		{"SSH-2.0-x", "::stop-commands::pitstop,##[group]," + evil + strings.Repeat(",##[endgroup]", 3000)},
	} {
		c, err := net.Dial("tcp", dialAddr(r))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "%s\r\n", tt.version)
		c.Write(rawKexInit(tt.kex)) //nolint:errcheck // the server may hang up first
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	// Escaped as \x23 and \x3a, which the console format quotes again.
	for !strings.Contains(a.stderr.String(), `x23[warning`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	log := a.stderr.String()
	checkNoWorkflowCommands(t, log)
	if !strings.Contains(log, `x23[warning title=pitstop]`) || !strings.Contains(log, `x3astop-commands`) {
		t.Errorf("the peer's text is not in the log, escaped, so the test proves nothing:\n%s", log)
	}
}

// checkNoWorkflowCommands fails for every line of log that holds "##["
// or "::" (none of the agent's own lines does), or is longer than what a
// peer that has not logged in may cause.
func checkNoWorkflowCommands(t *testing.T, log string) {
	t.Helper()
	for line := range strings.Lines(log) {
		if strings.Contains(line, "##[") || strings.Contains(line, "::") {
			t.Errorf("a workflow command from a peer reached the log: %.300q", line)
		}
		if len(line) > 2000 {
			t.Errorf("a %d-byte log line from a peer that never logged in", len(line))
		}
	}
}

// TestMethodNamesCannotInjectWorkflowCommands: authentication methods and
// user names holding workflow commands reach the job log (text and JSON)
// and the audit log only escaped, and huge method names add little to it.
func TestMethodNamesCannotInjectWorkflowCommands(t *testing.T) {
	for _, format := range []string{"console", "json"} {
		t.Run(format, func(t *testing.T) {
			user := newKeyPair(t, "user")
			audit := filepath.Join(t.TempDir(), "audit.jsonl")
			a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys-data", user.public, "--wait-timeout", "2m",
				"--log-format", format, "--audit-log", audit)
			r := a.readReady(t, 30*time.Second, nil)
			const evil = "##[warning title=pitstop]Pause moved: connect with ssh -p 2222 runner@evil.example.com"
			c, err := dialRawSSH(dialAddr(r), "SSH-2.0-"+evil)
			if err != nil {
				t.Fatalf("raw client: %v\n%s", err, a.stderr)
			}
			for i, m := range []string{evil, "::error::forged", "##[group]hidden", "pass\nword"} {
				if got, err := c.userauth("::add-mask::runner##[endgroup]", m, i == 0); err != nil || got != 51 {
					t.Fatalf("method %q: message %d, %v; want USERAUTH_FAILURE (51)", m, got, err)
				}
			}
			c.c.Close()
			// A connection sending nine 100 KB method names.
			before := len(a.stderr.String())
			c, err = dialRawSSH(dialAddr(r), "SSH-2.0-x")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 9 {
				if got, err := c.userauth("runner", strings.Repeat("##[x", 25_000), i == 0); err != nil || got != 51 {
					t.Fatalf("long method %d: message %d, %v", i+1, got, err)
				}
			}
			c.c.Close()
			time.Sleep(200 * time.Millisecond)
			if grew := len(a.stderr.String()) - before; grew > 20_000 {
				t.Errorf("nine 100 KB method names added %d bytes to the job log", grew)
			}
			log := a.stderr.String()
			checkNoWorkflowCommands(t, log)
			if !strings.Contains(log, `x23[warning title=pitstop]`) || !strings.Contains(log, `x3aerror:`) {
				t.Errorf("the method names are not in the log, escaped, so the test proves nothing:\n%s", log)
			}
			b, err := os.ReadFile(audit)
			if err != nil {
				t.Fatal(err)
			}
			checkNoWorkflowCommands(t, string(b))
			if n := strings.Count(string(b), `"method_refused"`); n != 4+9 {
				t.Errorf("%d refused methods in the audit log, want 13:\n%s", n, b)
			}
		})
	}
}

// dialAddr is where to dial the agent of r.
func dialAddr(r wire.Ready) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// TestIdleConnectionsCannotLockOut: while a flood of idle connections
// from ten addresses is kept up (each one reopened as the agent closes
// it), and while slow-loris connections from the user's own address trickle
// their version line, the real user logs in with the real ssh, nearly
// every time within 2s of what the same login takes without them.
func TestIdleConnectionsCannotLockOut(t *testing.T) {
	user := newKeyPair(t, "user")
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys-data", user.public, "--wait-timeout", "5m")
	r := a.readReady(t, 30*time.Second, nil)
	base := baselineLogin(t, r, user)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	// 149 idle connections from 127.0.0.2-11, each reopened as soon as
	// it is closed.
	for i := range 149 {
		from := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%10))}
		wg.Go(func() {
			d := net.Dialer{LocalAddr: from}
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", dialAddr(r))
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				c.Read(make([]byte, 64)) //nolint:errcheck // the version line
				c.Read(make([]byte, 64)) //nolint:errcheck // until closed
				stop()
				c.Close()
			}
		})
	}
	// 20 slow-loris connections from the user's own address: a byte of
	// a version line every 500ms.
	for range 20 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", dialAddr(r))
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for _, b := range []byte("SSH-2.0-slowloris-client-that-never-ends") {
					if _, err := c.Write([]byte{b}); err != nil || ctx.Err() != nil {
						break
					}
					select {
					case <-ctx.Done():
					case <-time.After(500 * time.Millisecond):
					}
				}
				c.Close()
			}
		})
	}
	time.Sleep(2 * time.Second) // let the flood fill every place
	checkLogins(t, a, r, user, 2*time.Second, base)
}

// TestStalledKeyExchangesCannotLockOut: connections from the user's own
// address (the relay or NAT case) that send their version line and then
// stall the key exchange, reopened as they are closed, do not keep the
// real user out either. They delay the user more than idle ones: each
// holds a place for a second (stallAfter), and the user queues behind
// those that came first, so the bound is 3 seconds.
func TestStalledKeyExchangesCannotLockOut(t *testing.T) {
	user := newKeyPair(t, "user")
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys-data", user.public, "--wait-timeout", "5m")
	r := a.readReady(t, 30*time.Second, nil)
	base := baselineLogin(t, r, user)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for range 20 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", dialAddr(r))
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				fmt.Fprintf(c, "SSH-2.0-stalling\r\n")
				io.Copy(io.Discard, c) //nolint:errcheck // until closed
				stop()
				c.Close()
			}
		})
	}
	time.Sleep(2 * time.Second) // let them take every place of the address
	checkLogins(t, a, r, user, 3*time.Second, base)
}

// baselineLogin is the slowest of three logins with the real ssh before
// any load: what starting ssh, the key exchange and running a command cost
// on this machine right now, which is not the agent's to answer for.
func baselineLogin(t *testing.T, r wire.Ready, user keyPair) time.Duration {
	t.Helper()
	var base time.Duration
	for range 3 {
		start := time.Now()
		if out, err := sshLogin(t, r, user.private); err != nil {
			t.Fatalf("login without load: %v\n%s", err, out)
		}
		base = max(base, time.Since(start))
	}
	return base
}

// checkLogins logs in 20 times with the real ssh: at least 19 must get
// in, run a command and leave within limit each, on top of base, the
// same login's cost without the load.
func checkLogins(t *testing.T, a *agentRun, r wire.Ready, user keyPair, limit, base time.Duration) {
	t.Helper()
	t.Logf("a login without load takes up to %v on this machine now", base.Round(time.Millisecond))
	limit += base
	var slow []string
	var times []time.Duration
	for i := range 20 {
		start := time.Now()
		out, err := sshLogin(t, r, user.private)
		d := time.Since(start)
		times = append(times, d.Round(time.Millisecond))
		if err != nil || d > limit {
			slow = append(slow, fmt.Sprintf("login %d: %v after %v: %s", i+1, err, d.Round(time.Millisecond), out))
		}
	}
	if len(slow) > 1 {
		t.Errorf("%d of 20 logins failed or took over %v under the load:\n%s\n%s", len(slow), limit, strings.Join(slow, "\n"), tail(a.stderr.String(), 40))
	}
	t.Logf("login times: %v", times)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestHugeAPIAnswerRefused: a 100 MB keys answer from the API fails the
// lookup, closed, with a message, and the agent's memory stays small.
func TestHugeAPIAnswerRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the peak RSS is read from /proc/PID/status")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/users/{user}/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"id":1,"key":"`)) //nolint:errcheck // test server
		chunk := []byte(strings.Repeat("A", 1<<16))
		for range 100 << 20 >> 16 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`"}]`)) //nolint:errcheck // test server
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a := startRelayAgentEnv(t, map[string]string{"GITHUB_ACTOR": "bob", "GITHUB_API_URL": srv.URL + "/api/v3"},
		"--listen", "127.0.0.1:0", "--github-user", "bob", "--wait-timeout", "10s")
	// The kernel's peak RSS of the agent (VmHWM), read while it runs:
	// wait4's ru_maxrss would also count the test process's memory, which
	// the child shares until it execs.
	var peak int64
	status := fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid)
	for done := false; !done; {
		select {
		case <-a.done:
			done = true
		case <-time.After(2 * time.Millisecond):
		}
		b, err := os.ReadFile(status)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					peak = max(peak, kb<<10)
				}
			}
		}
	}
	if peak == 0 {
		t.Fatal("could not read the agent's peak RSS from /proc")
	}
	if code := a.waitExit(t, time.Minute); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, a.stderr)
	}
	if !strings.Contains(a.stderr.String(), "larger than 1048576 bytes") {
		t.Errorf("the log does not say the answer was too large:\n%s", a.stderr)
	}
	if peak >= 64<<20 {
		t.Errorf("the agent's peak RSS was %d MB, want under 64 MB", peak>>20)
	}
	t.Logf("peak RSS %.1f MB", float64(peak)/(1<<20))
}

package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Ready is the document written to Config.ReadyFile once the agent
// listens. Tools (pitstop act, tests, the action's outputs) read it rather
// than scraping the log.
type Ready struct {
	// Address is the host:port users dial.
	Address string `json:"address"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	// User is the login name used in SSHCommand; any name is accepted.
	User string `json:"user"`
	// SSHCommand is the command to connect, e.g. "ssh -p 40123 runner@203.0.113.7".
	SSHCommand string `json:"ssh_command"`
	// KnownHosts is a known_hosts line for exactly Address, for strict
	// host key checking.
	KnownHosts string `json:"known_hosts"`
	// HostKey is the host's public key in authorized_keys form.
	HostKey string `json:"host_key"`
	// HostKeyFingerprint is "SHA256:...", as ssh prints it.
	HostKeyFingerprint string `json:"host_key_fingerprint"`
	// Listen is the local address the server is bound to.
	Listen string `json:"listen"`
	// ControlSocket is the socket behind pitstop continue/extend/status.
	ControlSocket string `json:"control_socket"`
	// PID is the agent's process id.
	PID int `json:"pid"`
	// AuthorizedUsers are the forge users whose keys may log in.
	AuthorizedUsers []string `json:"authorized_users"`
	// AuthorizedKeyFingerprints are the fingerprints of every key that may log in.
	AuthorizedKeyFingerprints []string `json:"authorized_key_fingerprints"`
	// StartedAt is when the pause began.
	StartedAt time.Time `json:"started_at"`
	// WaitDeadline is when the pause ends if nobody connects.
	WaitDeadline time.Time `json:"wait_deadline"`
	// Deadline is when the pause ends at the latest, unless extended, as
	// of the start: the first connection moves it to max-duration from
	// then (zero for a detached pause, whose clock starts then).
	Deadline time.Time `json:"deadline"`

	// Relay is the relay the agent is reached through, USER@HOST:PORT;
	// empty when users dial the runner directly. Address, Host and Port
	// are then on the relay's side: its loopback, or for a unix socket
	// forward, the socket's path and the local port in SSHCommand.
	Relay string `json:"relay,omitempty"`
	// Jump is what users pass to ssh -J to reach Address.
	Jump string `json:"jump,omitempty"`
	// ForwardedAt is when the relay's current forward was set up; it
	// changes when the agent reconnects to the relay.
	ForwardedAt time.Time `json:"forwarded_at,omitzero"`
}

// newReady describes the listening server.
func newReady(cfg Config, ln net.Addr, host gossh.PublicKey, socket string, ring *keyring, plan accessPlan, t pauseTimes) (Ready, error) {
	_, portStr, err := net.SplitHostPort(ln.String())
	if err != nil {
		return Ready{}, fmt.Errorf("parse listen address: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return Ready{}, fmt.Errorf("parse listen port %q: %w", portStr, err)
	}
	h := advertiseHost(cfg)
	addr := net.JoinHostPort(h, portStr)
	r := Ready{
		Address:            addr,
		Host:               h,
		Port:               port,
		User:               cfg.LoginUser,
		SSHCommand:         sshCommand(cfg.LoginUser, h, port),
		KnownHosts:         knownhosts.Line([]string{knownhosts.Normalize(addr)}, host),
		HostKey:            strings.TrimSpace(string(gossh.MarshalAuthorizedKey(host))),
		HostKeyFingerprint: gossh.FingerprintSHA256(host),
		Listen:             ln.String(),
		ControlSocket:      socket,
		PID:                os.Getpid(),
		AuthorizedUsers:    plan.users,
		StartedAt:          t.Started,
		WaitDeadline:       t.WaitUntil,
		Deadline:           t.Deadline,
	}
	if r.AuthorizedUsers == nil {
		r.AuthorizedUsers = []string{}
	}
	for _, k := range ring.keys {
		r.AuthorizedKeyFingerprints = append(r.AuthorizedKeyFingerprints, k.fingerprint)
	}
	return r, nil
}

func sshCommand(user, host string, port int) string {
	if port == 22 {
		return fmt.Sprintf("ssh %s@%s", user, host)
	}
	return fmt.Sprintf("ssh -p %d %s@%s", port, user, host)
}

// writeReady writes r to path atomically, so a reader never sees half.
func writeReady(path string, r Ready) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode ready file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pitstop-ready-*")
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Readable by all: it holds nothing secret (the address and the public
	// host key), and in a job container the agent may run as root while
	// the tool that reads it (pitstop act) runs as the user outside.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write ready file: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

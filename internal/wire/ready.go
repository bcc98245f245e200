package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Ready is the document the agent writes to its ready file once it
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
	// Proof is the GitHub OIDC token whose audience binds HostKey (see
	// package proof); empty when the job may not request one.
	Proof string `json:"proof,omitempty"`
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

// WriteReady writes r to path atomically, so a reader never sees half.
func WriteReady(path string, r Ready) error {
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

// ErrNotReady means the ready file is absent or not complete yet. The
// agent writes it atomically, but a partial file is still treated as "not
// yet" so that a writer without that care cannot make a reader give up.
var ErrNotReady = errors.New("not ready")

// LoadReady reads the agent's ready file as it stands, checking only
// that it is one whole document, for readers that need a part of it: the
// end-of-job hold wants the control socket alone, and tests read what a
// relay's document says (whose Address may be a socket's path). It
// returns an error wrapping ErrNotReady while the file does not exist or
// is incomplete.
func LoadReady(path string) (*Ready, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read ready file: %w", ErrNotReady)
	}
	if err != nil {
		return nil, fmt.Errorf("read ready file: %w", err)
	}
	var r Ready
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse ready file %s: %w (%w)", path, ErrNotReady, err)
	}
	return &r, nil
}

// ReadReady reads and checks the agent's ready file: it must name an
// address to dial and the host key to expect there. It returns an error
// wrapping ErrNotReady while the file does not exist or is incomplete.
func ReadReady(path string) (*Ready, error) {
	r, err := LoadReady(path)
	if err != nil {
		return nil, err
	}
	if r.Address == "" || r.KnownHosts == "" {
		return nil, fmt.Errorf("ready file %s lacks address or known_hosts: %w", path, ErrNotReady)
	}
	if _, _, err := net.SplitHostPort(r.Address); err != nil {
		return nil, fmt.Errorf("ready file %s: address %q: %w", path, r.Address, err)
	}
	return r, nil
}

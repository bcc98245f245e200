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

// advertiseHost is the host users are told to dial (see Config).
func advertiseHost(cfg Config) string {
	if cfg.AdvertiseHost != "" {
		return cfg.AdvertiseHost
	}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			return h
		}
	}
	// The source address of a route to the outside is the one others can
	// most likely reach. Dialing UDP sends nothing; it only picks a route.
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil {
		ip := c.LocalAddr().(*net.UDPAddr).IP
		c.Close()
		if !ip.IsLoopback() && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
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

// banner greets an interactive session.
func (s *server) banner() string {
	t := s.pause.times()
	left := t.Deadline.Sub(s.cfg.Now()).Round(time.Second)
	if t.Detached && !t.Holding {
		return fmt.Sprintf("pitstop: you are in %s, which runs on (detached); %s left (until %s).\n"+
			"  You have the environment of the step the pause started at. At the end of the job\n"+
			"  it holds while you are connected; to let it end without you: pitstop continue\n"+
			"  Which step runs now, time left: pitstop status    More time: pitstop extend 30m\n",
			s.cfg.Label, left, t.Deadline.UTC().Format("15:04 MST"))
	}
	return fmt.Sprintf("pitstop: you are in %s, paused; %s left (until %s).\n"+
		"  The job goes on when you exit the last shell, or run: pitstop continue\n"+
		"  More time: pitstop extend 30m    Who is here, time left: pitstop status\n",
		s.cfg.Label, left, t.Deadline.UTC().Format("15:04 MST"))
}

// escapeData escapes a workflow command's message, as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// notice writes the ::notice:: annotation that puts the connect command on
// the run's page.
func notice(cfg Config, r Ready) {
	if cfg.Annotations == nil || parseEnv(cfg.Env).get("GITHUB_ACTIONS") != "true" {
		return
	}
	fmt.Fprintf(cfg.Annotations, "::notice title=%s::%s\n", escapeProperty("pitstop: "+cfg.Label+" is paused"),
		escapeData(fmt.Sprintf("%s   (host key %s)", r.SSHCommand, r.HostKeyFingerprint)+
			// The line pitstop run and ssh pin when no check run could be made.
			"\nknown_hosts: "+r.KnownHosts))
}

// appendSummary appends markdown to GITHUB_STEP_SUMMARY, on GitHub.
func appendSummary(cfg Config, md string) error {
	env := parseEnv(cfg.Env)
	path := env.get("GITHUB_STEP_SUMMARY")
	if env.get("GITHUB_ACTIONS") != "true" || path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary: %w", err)
	}
	if _, err := f.WriteString(md); err != nil {
		f.Close()
		return fmt.Errorf("write step summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	return nil
}

func summaryStart(cfg Config, r Ready) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### pitstop: %s was paused\n\n", cfg.Label)
	fmt.Fprintf(&b, "Connect with:\n\n```sh\n%s\n```\n\n", r.SSHCommand)
	if r.Relay != "" {
		// Said here because the command names a relay: what it can see.
		fmt.Fprintf(&b, "Through the relay `%s`, which carries the session encrypted end to end with the agent: it cannot read it or pose as the agent, whose host key you check.\n\n", r.Relay)
	}
	fmt.Fprintf(&b, "Host key `%s`; for strict checking add to `known_hosts`:\n\n```\n%s\n```\n\n", r.HostKeyFingerprint, r.KnownHosts)
	who := "keys given directly"
	if len(r.AuthorizedUsers) > 0 {
		who = "`" + strings.Join(r.AuthorizedUsers, "`, `") + "`"
	}
	keys := "keys"
	if len(r.AuthorizedKeyFingerprints) == 1 {
		keys = "key"
	}
	fmt.Fprintf(&b, "May log in: %s (%d %s).\n\n", who, len(r.AuthorizedKeyFingerprints), keys)
	return b.String()
}

func summaryEnd(reason EndReason, logins []string, d time.Duration) string {
	var b strings.Builder
	if len(logins) == 0 {
		b.WriteString("Nobody logged in. ")
	} else {
		fmt.Fprintf(&b, "Logged in: %s. ", strings.Join(logins, ", "))
	}
	fmt.Fprintf(&b, "The pause ended after %s: %s.\n\n", d.Round(time.Second), reason.Describe())
	return b.String()
}

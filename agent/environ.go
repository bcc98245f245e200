package agent

import (
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/control"
)

// keptFromSessions reports whether a variable of the agent's own environment must
// not reach sessions. The aim is that a session sees what the job's next
// step would see: the step's environment (PATH as GITHUB_PATH left it,
// variables from GITHUB_ENV, and GITHUB_ENV/GITHUB_PATH/GITHUB_OUTPUT
// themselves so the user can change what later steps see), minus what was
// only there to configure the agent.
func keptFromSessions(name string) bool {
	switch {
	case strings.HasPrefix(name, "INPUT_"):
		// Action inputs (github-token, authorized-keys, ...).
		return true
	case strings.HasPrefix(name, "PITSTOP_"):
		// The agent's own settings, including PITSTOP_GITHUB_TOKEN, the
		// variable the action passes the token in so it never lands in
		// a variable a user's program would read.
		return true
	case name == "GITHUB_ACTION_PATH", name == "GITHUB_ACTION_REPOSITORY", name == "GITHUB_ACTION_REF":
		// They describe the pitstop action itself, not the user's step.
		return true
	}
	return false
}

// baseEnv is every session's environment before per-session additions.
func baseEnv(cfg Config, socket string) []string {
	var out []string
	pathSeen := false
	for _, kv := range cfg.Env {
		name, value, _ := strings.Cut(kv, "=")
		if keptFromSessions(name) {
			continue
		}
		if name == "PATH" || runtime.GOOS == "windows" && strings.EqualFold(name, "PATH") {
			pathSeen = true
			kv = "PATH=" + prependPath(cfg.BinDir, value)
		}
		out = append(out, kv)
	}
	if !pathSeen {
		out = append(out, "PATH="+prependPath(cfg.BinDir, "/usr/local/bin:/usr/bin:/bin"))
	}
	return append(out, control.SocketEnv+"="+socket)
}

// prependPath puts dir first on path, so "pitstop" is this very binary,
// unless it already is first.
func prependPath(dir, path string) string {
	if dir == "" {
		return path
	}
	if first, _, _ := strings.Cut(path, string(os.PathListSeparator)); first == dir {
		return path
	}
	if path == "" {
		return dir
	}
	return dir + string(os.PathListSeparator) + path
}

// acceptedClientEnv is what a client may set with SendEnv/SetEnv, as
// Debian's sshd accepts by default: the locale, and colour support.
func acceptedClientEnv(name string) bool {
	return name == "LANG" || strings.HasPrefix(name, "LC_") || name == "COLORTERM"
}

// sessionEnv is the environment of one session's program.
func (s *server) sessionEnv(sess ssh.Session, term string) []string {
	env := append([]string(nil), s.env...)
	for _, kv := range sess.Environ() {
		if name, _, _ := strings.Cut(kv, "="); acceptedClientEnv(name) {
			env = append(env, kv)
		}
	}
	if term != "" {
		env = append(env, "TERM="+term)
	}
	env = append(env, "SSH_CONNECTION="+sshConnection(sess.RemoteAddr(), sess.LocalAddr()))
	return env
}

// sshConnection is OpenSSH's SSH_CONNECTION value: "client port server
// port". Scripts use it to tell they are in an SSH session, and split it
// into its four fields. A side that is no IP address and port, such as
// the agent's end of a connection through an upterm relay (named by the
// session's SSH user), is given as the unspecified address, "0.0.0.0 0".
func sshConnection(remote, local net.Addr) string {
	rh, rp := ipPort(remote)
	lh, lp := ipPort(local)
	return rh + " " + rp + " " + lh + " " + lp
}

// ipPort splits a into an IP address and a port number, or returns
// "0.0.0.0" and "0".
func ipPort(a net.Addr) (string, string) {
	if a != nil {
		if h, p, err := net.SplitHostPort(a.String()); err == nil {
			if ip := net.ParseIP(h); ip != nil {
				if n, err := strconv.ParseUint(p, 10, 16); err == nil {
					return ip.String(), strconv.FormatUint(n, 10)
				}
			}
		}
	}
	return "0.0.0.0", "0"
}

// inContainer reports whether the agent runs in a container (a job's
// `container:`): Docker and Podman leave a marker file at the root.
func inContainer() bool {
	if runtime.GOOS == "windows" {
		// Windows containers leave no such marker, and the root of the
		// current drive is no place to look for one (under wine it is
		// the Linux root).
		return false
	}
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

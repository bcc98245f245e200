package agent

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/internal/wire"
)

// Ready is the document written to Config.ReadyFile once the agent
// listens; it is defined in wire, where its readers find it too.
type Ready = wire.Ready

// newReady describes the listening server.
func newReady(cfg Config, ln net.Addr, host gossh.PublicKey, socket string, ring *access.Keyring, plan access.Plan, t pauseTimes) (Ready, error) {
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
		AuthorizedUsers:    plan.Users,
		StartedAt:          t.Started,
		WaitDeadline:       t.WaitUntil,
		Deadline:           t.Deadline,
	}
	if r.AuthorizedUsers == nil {
		r.AuthorizedUsers = []string{}
	}
	for _, k := range ring.Keys() {
		r.AuthorizedKeyFingerprints = append(r.AuthorizedKeyFingerprints, k.Fingerprint)
	}
	return r, nil
}

func sshCommand(user, host string, port int) string {
	if port == 22 {
		return fmt.Sprintf("ssh %s@%s", user, host)
	}
	return fmt.Sprintf("ssh -p %d %s@%s", port, user, host)
}

package main

import (
	"flag"
	"strings"

	"github.com/pitstopci/pitstop/agent"
)

// securityOptions are the flags for who may debug, forwarding and the
// audit trail.
type securityOptions struct {
	minPermission                 string
	allowUntrustedPRs             bool
	localFwd, remoteFwd, agentFwd bool
	auditLog                      string
}

func (o *securityOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.minPermission, "min-permission", agent.DefaultMinPermission, "least `permission` on the repository each user needs: read, triage, write, maintain or admin (checked with a token)")
	fs.BoolVar(&o.allowUntrustedPRs, "allow-untrusted-prs", false, "also pause pull_request_target runs and pull requests from forks (whoever logs in can read the job's secrets)")
	fs.BoolVar(&o.localFwd, "allow-local-forwarding", true, "allow ssh -L: connections from the runner to where the user asks")
	fs.BoolVar(&o.remoteFwd, "allow-remote-forwarding", false, "allow ssh -R: listeners on the runner's loopback interface")
	fs.BoolVar(&o.agentFwd, "allow-agent-forwarding", false, "allow ssh -A: the user's SSH agent, usable from the runner while they are logged in")
	fs.StringVar(&o.auditLog, "audit-log", "", "append every login, refusal, session, file transfer and forward to this `file` as JSON lines")
}

// apply puts the options into cfg.
func (o *securityOptions) apply(cfg *agent.Config) error {
	switch o.minPermission {
	case "read", "triage", "write", "maintain", "admin":
	default:
		return usagef("--min-permission must be one of read, triage, write, maintain, admin, not %q", o.minPermission)
	}
	cfg.MinPermission = o.minPermission
	cfg.AllowUntrustedPRs = o.allowUntrustedPRs
	cfg.NoLocalForwarding = !o.localFwd
	cfg.AllowRemoteForwarding = o.remoteFwd
	cfg.AllowAgentForwarding = o.agentFwd
	cfg.AuditLog = strings.TrimSpace(o.auditLog)
	return nil
}

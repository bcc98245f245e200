package agent

import (
	"fmt"

	"github.com/pitstopci/pitstop/internal/wire"
)

// notice writes the ::notice:: annotation that puts the connect command on
// the run's page. Only a runner reads it: Run calls it on GitHub Actions.
func notice(cfg Config, r Ready) {
	if cfg.Annotations == nil {
		return
	}
	fmt.Fprintf(cfg.Annotations, "::notice title=%s::%s\n", wire.EscapeProperty(wire.CheckRunPrefix+cfg.Label+" is paused"),
		wire.EscapeData(fmt.Sprintf("%s   (host key %s)", r.SSHCommand, r.HostKeyFingerprint)+
			// The line pitstop run and ssh pin when no check run could be made.
			"\nknown_hosts: "+r.KnownHosts+proofLine(r.Proof)))
}

// proofLine is the notice's line with the pause's proof, "" without one.
// A token is about a kilobyte, well within an annotation's 64 KiB.
func proofLine(token string) string {
	if token == "" {
		return ""
	}
	return "\nproof: " + token
}

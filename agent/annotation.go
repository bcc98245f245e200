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
	// The known_hosts and proof lines are what pitstop run and ssh pin
	// when no check run could be made.
	fmt.Fprint(cfg.Annotations, wire.Notice{
		Label: cfg.Label, SSHCommand: r.SSHCommand, HostKeyFingerprint: r.HostKeyFingerprint,
		KnownHosts: r.KnownHosts, Proof: r.Proof,
	}.Command())
}

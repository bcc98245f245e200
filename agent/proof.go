package agent

import (
	"context"
	"errors"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/proof"
)

// requestProof asks GitHub for the OIDC token that proves the pause's
// host key (see package proof), for the check run and the notice. Not
// getting one is not fatal: the pause goes on, and pitstop run and ssh
// report it unverified; the log says why.
func requestProof(ctx context.Context, cfg Config, j Job, host gossh.PublicKey) string {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	token, err := proof.Request(ctx, j.idTokenURL, j.idTokenToken, proof.Audience(host), nil)
	switch {
	case errors.Is(err, proof.ErrNotGranted) && j.platform != access.PlatformGitHub:
		// act sets no token service; nobody there reads a check run.
		return ""
	case errors.Is(err, proof.ErrNotGranted):
		cfg.Log.Warn().Msg("the pause is unproven: the job lacks permissions: id-token: write, so pitstop run and pitstop ssh will call it unverified; grant it to the job")
		return ""
	case err != nil:
		cfg.Log.Warn().Err(err).Msg("the pause is unproven: pitstop run and pitstop ssh will call it unverified")
		return ""
	}
	cfg.Log.Info().Str("audience", proof.Audience(host)).Msg("GitHub vouches for the host key: its OIDC token is in the check run and the notice")
	return token
}

package wire

import "time"

// CheckRunPrefix starts the name of the check run a pause publishes on
// the run's head commit: "pitstop: JOB". The same words start the title
// of the ::notice:: annotation, which the CLI reads when there is no
// check run.
//
// The check run is how "pitstop run", "rerun" and "ssh" learn where to
// connect. A running job's log is not a dependable channel, while a check
// run is a documented, live API object; made with the job's own
// GITHUB_TOKEN, GitHub names the "github-actions" app as its author; but
// any job with checks: write can write such a check run on any commit, so
// the CLI trusts its address and host key only through the OIDC token in
// it (CheckRunInfo.Proof, see package proof). It needs "checks: write",
// which the workflows pitstop run writes grant; without it the agent goes
// on with the ::notice:: annotation only, which carries the proof too.
const CheckRunPrefix = "pitstop: "

// CheckRunInfo is the JSON document in the check run's output text.
type CheckRunInfo struct {
	// RunID and Job say which run and job (GITHUB_RUN_ID, GITHUB_JOB)
	// paused, since several runs can share a head commit.
	RunID string `json:"run_id"`
	Job   string `json:"job"`
	// RunAttempt is GITHUB_RUN_ATTEMPT.
	RunAttempt string `json:"run_attempt,omitempty"`
	Label      string `json:"label"`
	// The rest is copied from Ready.
	Address            string    `json:"address"`
	User               string    `json:"user"`
	SSHCommand         string    `json:"ssh_command"`
	KnownHosts         string    `json:"known_hosts"`
	HostKeyFingerprint string    `json:"host_key_fingerprint"`
	Jump               string    `json:"jump,omitempty"`
	Deadline           time.Time `json:"deadline"`
	// Proof is Ready.Proof: GitHub's word that this job serves
	// HostKeyFingerprint's key, which the check run alone is not.
	Proof string `json:"proof,omitempty"`
}

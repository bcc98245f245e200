#!/bin/sh
# Copies what the agent wrote to its ready file into the action's outputs.
# The agent holds the step until the pause is over, so the outputs are
# there for later steps (a job summary, a notification) rather than for
# connecting. POSIX sh (see install.sh).
set -eu

# state first: the end-of-job step of a detached pause needs it even when
# the agent did not start (it then says so and holds nothing).
echo "state=${PITSTOP_STATE:?}" >>"$GITHUB_OUTPUT"

ready="${PITSTOP_READY_FILE:-${PITSTOP_STATE:?}/ready.json}"
if [ ! -s "$ready" ]; then
	echo "pitstop: no ready file at $ready (the agent did not start listening); no outputs"
	exit 0
fi

# field prints one string field of the ready file: with jq where the runner
# has it (all GitHub-hosted images do), else with sed, which is enough for
# the fields read here (no quotes or escapes inside them).
field() {
	if command -v jq >/dev/null 2>&1; then
		jq -r --arg f "$1" '.[$f] // empty' "$ready"
	else
		sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$ready" | head -n 1
	fi
}

{
	echo "ssh-command=$(field ssh_command)"
	echo "host-key-fingerprint=$(field host_key_fingerprint)"
	echo "known-hosts=$(field known_hosts)"
} >>"$GITHUB_OUTPUT"

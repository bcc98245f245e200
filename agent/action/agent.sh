#!/usr/bin/env bash
# Turns the action's inputs (PITSTOP_* variables set by action.yml) into
# `pitstop agent` flags and replaces itself with the agent, so the agent is
# the step's process and gets the runner's signals first hand.
set -euo pipefail

: "${PITSTOP_BIN:?the install step did not report a binary}"
: "${PITSTOP_STATE:?the install step did not report a state directory}"

args=(agent --ready-file "${PITSTOP_READY_FILE:-$PITSTOP_STATE/ready.json}")
[[ -n ${PITSTOP_LISTEN:-} ]] && args+=(--listen "$PITSTOP_LISTEN")
[[ -n ${PITSTOP_WAIT_TIMEOUT:-} ]] && args+=(--wait-timeout "$PITSTOP_WAIT_TIMEOUT")
[[ -n ${PITSTOP_MAX_DURATION:-} ]] && args+=(--max-duration "$PITSTOP_MAX_DURATION")
[[ -n ${PITSTOP_LOG_FORMAT:-} ]] && args+=(--log-format "$PITSTOP_LOG_FORMAT")

# authorized-users: spaces, commas and newlines all separate names.
for user in ${PITSTOP_AUTHORIZED_USERS//,/ }; do
	args+=(--github-user "$user")
done

# authorized-keys adds keys; whether the triggering user's keys are still
# required is the agent's decision (always on GitHub; not under act, which
# has no API to ask), so this script cannot weaken a real run.
if [[ -n ${PITSTOP_AUTHORIZED_KEYS//[[:space:]]/} ]]; then
	keys="$PITSTOP_STATE/authorized_keys"
	printf '%s\n' "$PITSTOP_AUTHORIZED_KEYS" >"$keys"
	chmod 600 "$keys"
	args+=(--authorized-keys "$keys")
fi

# The token goes to the agent as GITHUB_TOKEN, the name it reads; an empty
# input (act has no token) leaves whatever the job set alone.
if [[ -n ${PITSTOP_GITHUB_TOKEN:-} ]]; then
	export GITHUB_TOKEN="$PITSTOP_GITHUB_TOKEN"
fi

# The sessions get the step's environment; the action's own plumbing is
# not part of it.
bin="$PITSTOP_BIN"
unset PITSTOP_BIN PITSTOP_STATE PITSTOP_GITHUB_TOKEN PITSTOP_AUTHORIZED_USERS \
	PITSTOP_AUTHORIZED_KEYS PITSTOP_LISTEN PITSTOP_WAIT_TIMEOUT \
	PITSTOP_MAX_DURATION PITSTOP_READY_FILE PITSTOP_LOG_FORMAT
exec "$bin" "${args[@]}"

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

# The token stays in PITSTOP_GITHUB_TOKEN, which the agent reads and, like
# every PITSTOP_* variable, never passes on to the sessions: the person
# debugging gets the step's environment, not the action's credentials. It
# is not a flag, which other users of the machine could read from ps.
if [[ -z ${PITSTOP_GITHUB_TOKEN:-} ]]; then
	unset PITSTOP_GITHUB_TOKEN # act has no token; let the agent fall back
fi

bin="$PITSTOP_BIN"
unset PITSTOP_BIN PITSTOP_STATE PITSTOP_AUTHORIZED_USERS PITSTOP_AUTHORIZED_KEYS \
	PITSTOP_LISTEN PITSTOP_WAIT_TIMEOUT PITSTOP_MAX_DURATION PITSTOP_READY_FILE \
	PITSTOP_LOG_FORMAT PITSTOP_INSTALL
exec "$bin" "${args[@]}"

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

# authorized-users: spaces, commas and newlines all separate names. Split
# with read, not an unquoted expansion, which would also expand a "*" into
# the names of the files here; read returns 1 at the end of its input.
users=()
list="${PITSTOP_AUTHORIZED_USERS:-}"
read -r -d '' -a users <<<"${list//,/ }" || true
for user in "${users[@]}"; do
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

# relay: the key comes from a secret. Each of its lines is masked before
# anything else can print it (GitHub masks a multi-line secret only as a
# whole). It reaches the agent in PITSTOP_RELAY_KEY, never in a file: a
# file would be readable from a session for the whole pause, while the
# agent's environment is not (the agent makes itself non-dumpable, and
# keeps PITSTOP_* out of sessions). The relay flags are passed whenever an
# input is set; the agent itself says when one is missing.
[[ -n ${PITSTOP_RELAY:-} ]] && args+=(--relay "$PITSTOP_RELAY")
[[ -n ${PITSTOP_RELAY_JUMP:-} ]] && args+=(--relay-jump "$PITSTOP_RELAY_JUMP")
if [[ -n ${PITSTOP_RELAY_KEY:-} && -n ${PITSTOP_RELAY_KEY//[[:space:]]/} ]]; then
	PITSTOP_RELAY_KEY="${PITSTOP_RELAY_KEY//$'\r'/}"
	while IFS= read -r line; do
		if [[ -n ${line//[[:space:]]/} ]]; then
			echo "::add-mask::$line"
		fi
	done <<<"$PITSTOP_RELAY_KEY"
	export PITSTOP_RELAY_KEY
else
	unset PITSTOP_RELAY_KEY
fi
if [[ -n ${PITSTOP_RELAY_KNOWN_HOSTS:-} && -n ${PITSTOP_RELAY_KNOWN_HOSTS//[[:space:]]/} ]]; then
	known="$PITSTOP_STATE/relay_known_hosts"
	printf '%s\n' "$PITSTOP_RELAY_KNOWN_HOSTS" >"$known"
	args+=(--relay-known-hosts "$known")
fi

# Who may debug, forwarding and the audit trail: passed when set, so the
# agent's own (safe) defaults apply otherwise. Booleans go as --flag=VALUE;
# a value the agent cannot read is its usage error, not a silent default.
[[ -n ${PITSTOP_MIN_PERMISSION:-} ]] && args+=(--min-permission "$PITSTOP_MIN_PERMISSION")
[[ -n ${PITSTOP_AUDIT_LOG:-} ]] && args+=(--audit-log "$PITSTOP_AUDIT_LOG")
for opt in allow-untrusted-prs allow-local-forwarding allow-remote-forwarding allow-agent-forwarding; do
	var="PITSTOP_${opt//-/_}"
	var="${var^^}"
	if [[ -n ${!var:-} ]]; then
		args+=("--$opt=${!var}")
	fi
done

# The token stays in PITSTOP_GITHUB_TOKEN (and the relay key in
# PITSTOP_RELAY_KEY), which the agent reads and, like every PITSTOP_*
# variable, never passes on to the sessions: the person debugging gets the
# step's environment, not the action's credentials. Neither is a flag,
# which other users of the machine could read from ps.
if [[ -z ${PITSTOP_GITHUB_TOKEN:-} ]]; then
	unset PITSTOP_GITHUB_TOKEN # act has no token; let the agent fall back
fi

# detached: the agent runs in the background (detached.sh) and this step
# ends once it listens. Read before the variables below are unset.
detached="${PITSTOP_DETACHED:-false}"
state="$PITSTOP_STATE"
ready="${PITSTOP_READY_FILE:-$PITSTOP_STATE/ready.json}"
case "$detached" in
true | false) ;;
*)
	echo "::error title=pitstop::input detached is \"$detached\"; valid values: true, false"
	exit 1
	;;
esac

bin="$PITSTOP_BIN"
unset PITSTOP_DETACHED
unset PITSTOP_BIN PITSTOP_STATE PITSTOP_AUTHORIZED_USERS PITSTOP_AUTHORIZED_KEYS \
	PITSTOP_LISTEN PITSTOP_WAIT_TIMEOUT PITSTOP_MAX_DURATION PITSTOP_READY_FILE \
	PITSTOP_LOG_FORMAT PITSTOP_INSTALL PITSTOP_RELAY PITSTOP_RELAY_KNOWN_HOSTS \
	PITSTOP_RELAY_JUMP
unset PITSTOP_MIN_PERMISSION PITSTOP_AUDIT_LOG PITSTOP_ALLOW_UNTRUSTED_PRS PITSTOP_ALLOW_LOCAL_FORWARDING \
	PITSTOP_ALLOW_REMOTE_FORWARDING PITSTOP_ALLOW_AGENT_FORWARDING
if [[ $detached == true ]]; then
	# shellcheck source=detached.sh
	source "$(dirname "${BASH_SOURCE[0]}")/detached.sh"
	start_detached "$bin" "$state" "$ready" "${args[@]}"
	exit
fi
exec "$bin" "${args[@]}"

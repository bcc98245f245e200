#!/bin/sh
# Turns the action's inputs (PITSTOP_* variables set by action.yml) into
# `pitstop agent` flags and replaces itself with the agent, so the agent is
# the step's process and gets the runner's signals first hand.
#
# POSIX sh (see install.sh): the arguments are collected in "$@".
set -eu

: "${PITSTOP_BIN:?the install step did not report a binary}"
: "${PITSTOP_STATE:?the install step did not report a state directory}"

nl='
'
set -- agent --ready-file "${PITSTOP_READY_FILE:-$PITSTOP_STATE/ready.json}"
[ -n "${PITSTOP_LISTEN:-}" ] && set -- "$@" --listen "$PITSTOP_LISTEN"
[ -n "${PITSTOP_SHELL:-}" ] && set -- "$@" --shell "$PITSTOP_SHELL"
[ -n "${PITSTOP_WAIT_TIMEOUT:-}" ] && set -- "$@" --wait-timeout "$PITSTOP_WAIT_TIMEOUT"
[ -n "${PITSTOP_MAX_DURATION:-}" ] && set -- "$@" --max-duration "$PITSTOP_MAX_DURATION"
[ -n "${PITSTOP_CLIENT_ALIVE_INTERVAL:-}" ] && set -- "$@" --client-alive-interval "$PITSTOP_CLIENT_ALIVE_INTERVAL"
[ -n "${PITSTOP_CLIENT_ALIVE_COUNT_MAX:-}" ] && set -- "$@" --client-alive-count-max "$PITSTOP_CLIENT_ALIVE_COUNT_MAX"
[ -n "${PITSTOP_LOG_FORMAT:-}" ] && set -- "$@" --log-format "$PITSTOP_LOG_FORMAT"
# A number of minutes, as timeout-minutes is written; the agent reads a
# duration, and refuses what is not one.
[ -n "${PITSTOP_JOB_TIMEOUT_MINUTES:-}" ] && set -- "$@" --job-timeout "${PITSTOP_JOB_TIMEOUT_MINUTES}m"

# authorized-users: spaces, commas and newlines all separate names. The
# unquoted expansion splits on IFS; with globbing off (set -f) a "*" stays
# a name instead of becoming the names of the files here. Two commas in a
# row make an empty field, which is no name.
set -f
oldifs="$IFS"
IFS=" ,	$nl"
for user in ${PITSTOP_AUTHORIZED_USERS:-}; do
	[ -n "$user" ] || continue
	set -- "$@" --github-user "$user"
done
IFS="$oldifs"
set +f

# blank reports whether $1 is empty or only white space.
blank() {
	case "$1" in
	*[![:space:]]*) return 1 ;;
	*) return 0 ;;
	esac
}

# authorized-keys adds keys; whether the triggering user's keys are still
# required is the agent's decision (always on GitHub; not under act, which
# has no API to ask), so this script cannot weaken a real run.
if ! blank "${PITSTOP_AUTHORIZED_KEYS:-}"; then
	keys="$PITSTOP_STATE/authorized_keys"
	(
		umask 077
		printf '%s\n' "$PITSTOP_AUTHORIZED_KEYS" >"$keys"
	)
	chmod 600 "$keys"
	set -- "$@" --authorized-keys "$keys"
fi

# relay: the key comes from a secret. Each of its lines is masked before
# anything else can print it (GitHub masks a multi-line secret only as a
# whole). It reaches the agent in PITSTOP_RELAY_KEY, never in a file: a
# file would be readable from a session for the whole pause, while the
# agent's environment is not (the agent makes itself non-dumpable, and
# keeps PITSTOP_* out of sessions). The relay flags are passed whenever an
# input is set; the agent itself says when one is missing.
[ -n "${PITSTOP_RELAY:-}" ] && set -- "$@" --relay "$PITSTOP_RELAY"
[ -n "${PITSTOP_RELAY_JUMP:-}" ] && set -- "$@" --relay-jump "$PITSTOP_RELAY_JUMP"
if ! blank "${PITSTOP_RELAY_KEY:-}"; then
	# CRs go (a secret pasted on Windows) in the shell itself, so that the
	# key is handed to no other process.
	cr="$(printf '\r')"
	while :; do
		case "$PITSTOP_RELAY_KEY" in
		*"$cr"*) PITSTOP_RELAY_KEY="${PITSTOP_RELAY_KEY%%"$cr"*}${PITSTOP_RELAY_KEY#*"$cr"}" ;;
		*) break ;;
		esac
	done
	while IFS= read -r line; do
		if ! blank "$line"; then
			echo "::add-mask::$line"
		fi
	done <<KEY
$PITSTOP_RELAY_KEY
KEY
	export PITSTOP_RELAY_KEY
else
	unset PITSTOP_RELAY_KEY
fi
if ! blank "${PITSTOP_RELAY_KNOWN_HOSTS:-}"; then
	known="$PITSTOP_STATE/relay_known_hosts"
	printf '%s\n' "$PITSTOP_RELAY_KNOWN_HOSTS" >"$known"
	set -- "$@" --relay-known-hosts "$known"
fi

# Who may debug, forwarding and the audit trail: passed when set, so the
# agent's own (safe) defaults apply otherwise. Booleans go as --flag=VALUE;
# a value the agent cannot read is its usage error, not a silent default.
[ -n "${PITSTOP_MIN_PERMISSION:-}" ] && set -- "$@" --min-permission "$PITSTOP_MIN_PERMISSION"
[ -n "${PITSTOP_AUDIT_LOG:-}" ] && set -- "$@" --audit-log "$PITSTOP_AUDIT_LOG"
[ -n "${PITSTOP_ALLOW_UNTRUSTED_PRS:-}" ] && set -- "$@" "--allow-untrusted-prs=$PITSTOP_ALLOW_UNTRUSTED_PRS"
[ -n "${PITSTOP_ALLOW_LOCAL_FORWARDING:-}" ] && set -- "$@" "--allow-local-forwarding=$PITSTOP_ALLOW_LOCAL_FORWARDING"
[ -n "${PITSTOP_ALLOW_REMOTE_FORWARDING:-}" ] && set -- "$@" "--allow-remote-forwarding=$PITSTOP_ALLOW_REMOTE_FORWARDING"
[ -n "${PITSTOP_ALLOW_AGENT_FORWARDING:-}" ] && set -- "$@" "--allow-agent-forwarding=$PITSTOP_ALLOW_AGENT_FORWARDING"

# The token stays in PITSTOP_GITHUB_TOKEN (and the relay key in
# PITSTOP_RELAY_KEY), which the agent reads and, like every PITSTOP_*
# variable, never passes on to the sessions: the person debugging gets the
# step's environment, not the action's credentials. Neither is a flag,
# which other users of the machine could read from ps.
if [ -z "${PITSTOP_GITHUB_TOKEN:-}" ]; then
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
	PITSTOP_RELAY_JUMP PITSTOP_CLIENT_ALIVE_INTERVAL PITSTOP_CLIENT_ALIVE_COUNT_MAX
unset PITSTOP_MIN_PERMISSION PITSTOP_AUDIT_LOG PITSTOP_ALLOW_UNTRUSTED_PRS PITSTOP_ALLOW_LOCAL_FORWARDING \
	PITSTOP_ALLOW_REMOTE_FORWARDING PITSTOP_ALLOW_AGENT_FORWARDING
unset PITSTOP_JOB_TIMEOUT_MINUTES PITSTOP_SHELL
if [ "$detached" = true ]; then
	# shellcheck source=detached.sh
	. "$(dirname "$0")/detached.sh"
	start_detached "$bin" "$state" "$ready" "$@"
	exit
fi
exec "$bin" "$@"

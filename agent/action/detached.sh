#!/usr/bin/env bash
# Sourced by agent.sh for `detached: true`: starts the agent in the
# background and returns once it listens, so the job goes on at once.
#
# Why a background process is enough: GitHub's runner leaves processes a
# step started running until the job ends (then it kills orphans), and so
# does act. The agent gets a session of its own (setsid) so that signals
# meant for this step's process group do not reach it, and its output goes
# to a file (agent.log in the state directory): a process holding the
# step's stdout open would keep the step from ending. --watch-pid names
# this step's parent, the runner or act; the agent ends when it exits, so
# nothing outlives the job even when the end-of-job step never runs.

# start_detached BIN STATE READY ARGS...
start_detached() {
	local bin="$1" state="$2" ready="$3"
	shift 3
	local log="$state/agent.log"
	# A stale ready file from an earlier start must not be taken as ours.
	rm -f "$ready"
	local launch=()
	command -v setsid >/dev/null 2>&1 && launch=(setsid)
	${launch[@]+"${launch[@]}"} "$bin" "$@" --detached --watch-pid "$PPID" </dev/null >"$log" 2>&1 &
	local pid=$!
	while [[ ! -s $ready ]]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$log"
			local code=0
			wait "$pid" || code=$?
			echo "::error title=pitstop::the detached pause did not start (exit status $code)"
			return "$code"
		fi
		sleep 0.1
	done
	# The end-of-job step finds the agent through this directory.
	[[ $ready != "$state/ready.json" ]] && cp "$ready" "$state/ready.json"
	# Show what the agent said so far (who may log in, how to connect);
	# the end-of-job step shows the rest from this offset on.
	local size
	size=$(wc -c <"$log")
	head -c "$size" "$log"
	echo "$size" >"$log.offset"
	echo "pitstop: the pause runs in the background (pid $pid); the job goes on."
	return 0
}

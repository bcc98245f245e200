#!/bin/sh
# Sourced by agent.sh for `detached: true`: starts the agent in the
# background and returns once it listens, so the job goes on at once.
# POSIX sh, like agent.sh: in a job container there may be no bash.
#
# Why a background process is enough: GitHub's runner leaves processes a
# step started running until the job ends (then it kills orphans), and so
# does act. The agent gets a session of its own (setsid) so that signals
# meant for this step's process group do not reach it, and its output goes
# to a file (agent.log in the state directory): a process holding the
# step's stdout open would keep the step from ending. --watch-pid names
# this step's parent, the runner or act (on Windows the agent finds the
# runner's Runner.Worker.exe itself); the agent ends when it exits, so
# nothing outlives the job even when the end-of-job step never runs.

# start_detached BIN STATE READY ARGS...
start_detached() {
	d_bin="$1" d_state="$2" d_ready="$3"
	shift 3
	d_log="$d_state/agent.log"
	# A stale ready file from an earlier start must not be taken as ours.
	rm -f "$d_ready"
	# Git Bash's $PPID is no Windows process id (a parent outside its
	# runtime is 1 there): on Windows the agent finds the runner itself.
	case "$(uname -s)" in
	MINGW* | MSYS* | CYGWIN*) ;;
	*) set -- "$@" --watch-pid "$PPID" ;;
	esac
	if command -v setsid >/dev/null 2>&1; then
		setsid "$d_bin" "$@" --detached </dev/null >"$d_log" 2>&1 &
	else
		"$d_bin" "$@" --detached </dev/null >"$d_log" 2>&1 &
	fi
	d_pid=$!
	while [ ! -s "$d_ready" ]; do
		if ! kill -0 "$d_pid" 2>/dev/null; then
			cat "$d_log"
			d_code=0
			wait "$d_pid" || d_code=$?
			echo "::error title=pitstop::the detached pause did not start (exit status $d_code)"
			return "$d_code"
		fi
		sleep 0.1
	done
	# The end-of-job step finds the agent through this directory.
	if [ "$d_ready" != "$d_state/ready.json" ]; then
		cp "$d_ready" "$d_state/ready.json"
	fi
	# Show what the agent said so far (who may log in, how to connect);
	# the end-of-job step shows the rest from this offset on.
	d_size=$(wc -c <"$d_log" | tr -d ' ')
	head -c "$d_size" "$d_log"
	echo "$d_size" >"$d_log.offset"
	echo "pitstop: the pause runs in the background (pid $d_pid); the job goes on."
	return 0
}

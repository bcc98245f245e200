#!/bin/sh
# The end-of-job step of a detached pause (role: hold): runs `pitstop
# hold` from the pause's state directory, which holds the job while
# someone is connected, or as the hold input says. With no state (the
# pause step was skipped, or failed before it had one) there is nothing
# to hold, and the step succeeds: the job's result is its own.
# POSIX sh, like agent.sh: in a job container there may be no bash.
set -eu

state="${PITSTOP_STATE:-}"
bin="$state/bin/pitstop"
if [ -z "$state" ] || [ ! -x "$bin" ]; then
	echo "pitstop: no detached pause was started in this job; nothing to hold"
	exit 0
fi
hold="${PITSTOP_HOLD:-always}"
status="${PITSTOP_JOB_STATUS:-}"
unset PITSTOP_STATE PITSTOP_HOLD PITSTOP_JOB_STATUS
exec "$bin" hold --state "$state" --hold "$hold" --job-status "$status"

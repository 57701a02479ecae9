#!/usr/bin/env bash
# Stops a test bed's processes once the process that owns them is gone.
# usage: watchdog.sh WATCH_PID PID_FILE [DIR_TO_REMOVE]
# Started by start_watchdog (common.sh) in its own session, so it outlives a Ctrl-C.
set -u
WATCH="${1:?pid to watch}"; PID_FILE="${2:?pid file}"; REMOVE="${3:-}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
while is_alive "$WATCH"; do sleep 0.5; done
# shellcheck disable=SC2046
stop_pids $(cat "$PID_FILE" 2>/dev/null)
if [ -n "$REMOVE" ]; then rm -rf -- "$REMOVE"; fi

#!/usr/bin/env bash
# Stops a test bed started by start-*.sh (its server processes and its watchdog).
# usage: stop.sh DATA_DIR
set -euo pipefail
DIR="${1:?data dir}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
# shellcheck disable=SC2046
stop_pids $(cat "$DIR/pids" 2>/dev/null)
if [ -f "$DIR/pids" ]; then : > "$DIR/pids"; fi
if [ -f "$DIR/watchdog.pid" ]; then stop_pids "$(cat "$DIR/watchdog.pid")"; fi

#!/usr/bin/env bash
# Starts Debian's redis-server (the shared store of [limits]) on 127.0.0.1:PORT: no
# persistence, no protected-mode surprises, data in DATA_DIR.
# usage: start-redis.sh PORT DATA_DIR
# Prints KEY=VALUE lines (PID, ALL_PIDS, URL, READY_MS) on stdout, also written to
# DATA_DIR/server.env. Environment: see common.sh.
set -euo pipefail
USAGE="usage: start-redis.sh PORT DATA_DIR"
PORT="${1:?$USAGE}"; DIR="${2:?$USAGE}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
ensure_installed redis
prepare_data_dir "$DIR"
require_free_ports "$PORT"
start_watchdog
trap stop_on_failure EXIT

t0=$(now_ms)
spawn "$DATA_DIR/log/redis.log" redis-server --bind 127.0.0.1 --port "$PORT" \
  --save '' --appendonly no --dir "$DATA_DIR" --daemonize no --logfile ''
PID=$SPAWNED_PID
ready=0
for _ in $(seq 1 200); do
  if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then ready=1; break; fi
  sleep 0.05
done
if [ "$ready" != 1 ]; then
  log "redis-server did not answer on 127.0.0.1:$PORT within 10 s"
  exit 1
fi
READY=$(( $(now_ms) - t0 ))
untrack_pid $$
emit_env "PID=$PID" "ALL_PIDS=$PID" "URL=redis://127.0.0.1:$PORT/0" "READY_MS=$READY" \
  "DATA_DIR=$DATA_DIR"

#!/usr/bin/env bash
# Starts s3s-fs (strict SigV4, presigned URL and POST policy checks; objects stored as files in
# DATA_DIR/objects) on 127.0.0.1:PORT.
# usage: start-s3s-fs.sh PORT DATA_DIR
# Prints KEY=VALUE lines (PID, ALL_PIDS, ENDPOINT, ACCESS_KEY, SECRET_KEY, REGION, READY_MS)
# on stdout, also written to DATA_DIR/server.env. Environment: see common.sh.
set -euo pipefail
USAGE="usage: start-s3s-fs.sh PORT DATA_DIR"
PORT="${1:?$USAGE}"; DIR="${2:?$USAGE}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
ensure_installed s3s-fs
BIN="$(s3s_fs_bin)"
prepare_data_dir "$DIR"
require_free_ports "$PORT"
mkdir -p "$DATA_DIR/objects"
start_watchdog
trap stop_on_failure EXIT

t0=$(now_ms)
spawn "$DATA_DIR/log/s3s-fs.log" "$BIN" --host 127.0.0.1 --port "$PORT" \
  --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA_DIR/objects"
PID=$SPAWNED_PID
if ! wait_http "http://127.0.0.1:$PORT/" 30; then
  log "s3s-fs did not answer on 127.0.0.1:$PORT within 30 s"
  exit 1
fi
READY=$(( $(now_ms) - t0 ))
untrack_pid $$
emit_env "PID=$PID" "ALL_PIDS=$PID" "ENDPOINT=http://127.0.0.1:$PORT" "ACCESS_KEY=$ACCESS_KEY" \
  "SECRET_KEY=$SECRET_KEY" "REGION=$REGION" "READY_MS=$READY" "DATA_DIR=$DATA_DIR"

# shellcheck shell=bash
# Shared helpers of the test-bed scripts. Source it; it defines functions and defaults only.
#
# Environment understood by every start script:
#   ACCESS_KEY, SECRET_KEY, REGION  credentials and region the server accepts
#                                   (defaults: the AWS documentation's example pair, us-east-1)
#   WATCH_PID                       the servers are stopped once this process is gone
#                                   (default: the caller of the start script; "none" disables)
#   TESTBED_REMOVE_DATA_DIR=1       the watchdog also deletes DATA_DIR after stopping them
#   TESTBED_NO_INSTALL=1            fail instead of installing a missing server

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTBED_DIR/../.." && pwd)"
# Where install.sh puts s3s-fs (cargo install --root).
TESTBED_ROOT="${TESTBED_ROOT:-$REPO_ROOT/target/testbed}"
ACCESS_KEY="${ACCESS_KEY:-AKIAIOSFODNN7EXAMPLE}"
SECRET_KEY="${SECRET_KEY:-wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}"
REGION="${REGION:-us-east-1}"

log() { echo "testbed: $*" >&2; }
die() { log "$*"; exit 1; }
now_ms() { date +%s%3N; }
new_uuid() { cat /proc/sys/kernel/random/uuid; }

# is_alive PID: true while PID runs (a zombie counts as gone).
is_alive() {
  local stat state
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  state="${stat##*) }"
  [ "${state%% *}" != Z ]
}

# port_in_use PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free_ports PORT...: fails fast instead of letting a daemon hang on a taken port.
require_free_ports() {
  local p
  for p in "$@"; do
    if port_in_use "$p"; then die "port $p on 127.0.0.1 is already in use"; fi
  done
}

# wait_http URL TIMEOUT_S: returns 0 once anything answers with an HTTP status.
wait_http() {
  local url="$1" end=$(( $(date +%s) + ${2:-60} )) code hostport
  while [ "$(date +%s)" -lt "$end" ]; do
    if command -v curl >/dev/null; then
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
      if [ -n "$code" ] && [ "$code" != "000" ]; then return 0; fi
    else
      hostport="${url#http://}"; hostport="${hostport%%/*}"
      if port_in_use "${hostport##*:}"; then return 0; fi
    fi
    sleep 0.05
  done
  return 1
}

# s3s_fs_bin: prints the s3s-fs binary to use ($S3S_FS_BIN, the one install.sh builds, or PATH).
s3s_fs_bin() {
  if [ -n "${S3S_FS_BIN:-}" ] && [ -x "$S3S_FS_BIN" ]; then echo "$S3S_FS_BIN"; return 0; fi
  if [ -x "$TESTBED_ROOT/bin/s3s-fs" ]; then echo "$TESTBED_ROOT/bin/s3s-fs"; return 0; fi
  command -v s3s-fs
}

have_ceph() { command -v radosgw >/dev/null && command -v ceph-mon >/dev/null \
  && command -v ceph-osd >/dev/null && command -v ceph >/dev/null; }

# ensure_installed s3s-fs|ceph: installs a missing server unless TESTBED_NO_INSTALL=1.
ensure_installed() {
  case "$1" in
    s3s-fs) s3s_fs_bin >/dev/null && return 0 ;;
    ceph) have_ceph && return 0 ;;
    redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0 ;;
  esac
  [ "${TESTBED_NO_INSTALL:-0}" = 1 ] && die "$1 is not installed; run scripts/testbed/install.sh $1"
  log "$1 is not installed; installing it (scripts/testbed/install.sh $1)"
  bash "$TESTBED_DIR/install.sh" "$1" >&2
}

# prepare_data_dir DIR: creates DIR, makes it absolute in DATA_DIR and sets PID_FILE.
prepare_data_dir() {
  mkdir -p "$1"
  DATA_DIR="$(cd "$1" && pwd)"
  PID_FILE="$DATA_DIR/pids"
  mkdir -p "$DATA_DIR/log"
  : > "$PID_FILE"
}

# track_pid PID: the watchdog (and stop.sh) will stop PID.
track_pid() { echo "$1" >> "$PID_FILE"; }

# untrack_pid PID: forgets PID (the start script removes itself once it is done).
untrack_pid() {
  local rest
  rest="$(grep -vx "$1" "$PID_FILE" || true)"
  printf '%s\n' "$rest" | sed '/^$/d' > "$PID_FILE"
}

# spawn LOG CMD...: starts CMD in the background with its output in LOG, tracks its PID and
# sets SPAWNED_PID. No descendant keeps the caller's stdout/stderr open.
spawn() {
  local out="$1"; shift
  "$@" </dev/null >"$out" 2>&1 &
  SPAWNED_PID=$!
  track_pid "$SPAWNED_PID"
}

# start_watchdog: stops every tracked PID (this start script included, until it untracks
# itself) as soon as WATCH_PID is gone, so a test process that dies in any way leaks nothing.
start_watchdog() {
  local watch="${WATCH_PID:-$PPID}" remove=""
  track_pid $$
  if [ "$watch" = none ]; then return 0; fi
  is_alive "$watch" || die "WATCH_PID $watch is not running"
  if [ "${TESTBED_REMOVE_DATA_DIR:-0}" = 1 ]; then remove="$DATA_DIR"; fi
  setsid bash "$TESTBED_DIR/watchdog.sh" "$watch" "$PID_FILE" "$remove" \
    </dev/null >"$DATA_DIR/log/watchdog.log" 2>&1 &
  echo $! > "$DATA_DIR/watchdog.pid"
}

# stop_pids PID...: SIGTERM, up to 5 s of grace, then SIGKILL.
stop_pids() {
  local p left
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    left=""
    for p in "$@"; do if is_alive "$p"; then left="$left $p"; fi; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
}

# stop_on_failure: EXIT trap of the start scripts; when the script fails, shows the tail of
# the server logs and stops whatever it had started.
stop_on_failure() {
  local rc=$? f
  [ "$rc" = 0 ] && return 0
  log "start failed (exit $rc); logs in $DATA_DIR/log"
  for f in "$DATA_DIR"/log/*; do
    [ -s "$f" ] || continue
    echo "--- $f" >&2
    tail -n 8 "$f" >&2
  done
  untrack_pid $$
  # shellcheck disable=SC2046
  stop_pids $(cat "$PID_FILE")
  : > "$PID_FILE"
}

# emit_env KEY=VALUE...: prints the lines on stdout and writes a sourceable DATA_DIR/server.env.
emit_env() {
  local kv
  : > "$DATA_DIR/server.env"
  for kv in "$@"; do
    echo "$kv"
    echo "export ${kv%%=*}='${kv#*=}'" >> "$DATA_DIR/server.env"
  done
}

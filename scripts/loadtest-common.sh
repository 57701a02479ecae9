# Shared by scripts/loadtest-compare and scripts/soak (sourced, not run): building the release
# binaries, writing the broker configurations, starting pinned servers, running wrk and reading
# a server's CPU time and memory from /proc. Everything binds to 127.0.0.1.
#
# Settings (environment): SERVER_CORE (default 0) and WRK_CORE (default 1) are the cores of the
# servers and of wrk; WRK_THREADS (default 1) the threads of wrk. BUILD: "pgo" (the default)
# measures the binaries of scripts/build-pgo, the build the Docker image ships, both servers
# built and trained alike; "release" those of a plain `cargo build --release`. LT_BIN is the
# directory of the binaries measured, set by lt_build (unset before: a script that measures
# without building fails instead of measuring old binaries).

SERVER_CORE="${SERVER_CORE:-0}"
BUILD="${BUILD:-pgo}"
WRK_CORE="${WRK_CORE:-1}"
WRK_THREADS="${WRK_THREADS:-1}"
BODY='{"filename":"load.txt","content_type":"text/plain","size":1024}'
pids=()

lt_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${work:-}" ] && rm -rf "$work"
}

# wrk from Debian when missing (root or sudo).
lt_ensure_wrk() {
  command -v wrk >/dev/null && return
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=300 update >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2
}

# The broker and the two helpers of examples/: with PGO (BUILD=pgo, scripts/build-pgo) or a
# plain release build (BUILD=release).
lt_build() {
  case $BUILD in
    pgo) scripts/build-pgo; LT_BIN=target/pgo/release ;;
    release)
      # Two runs, as scripts/build-pgo: built with the examples, the broker's dependencies
      # would get the features of the examples' dev-dependencies.
      cargo build --release --locked --quiet --bin s3-broker
      cargo build --release --locked --quiet --example hello_world --example loadtest_setup
      LT_BIN=target/release
      ;;
    *) echo "BUILD is pgo or release, not $BUILD" >&2; exit 2 ;;
  esac
}

# Fresh RSA and P-256 keys, then the four configurations and credentials.env in $work.
lt_configure() {
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rsa.key.pem" 2>/dev/null
  openssl pkey -in "$work/rsa.key.pem" -pubout -out "$work/rsa.pub.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ec.key.pem"
  openssl pkey -in "$work/ec.key.pem" -pubout -out "$work/ec.pub.pem"
  "$LT_BIN/examples/loadtest_setup" "$work" policies
  # shellcheck disable=SC1091
  source "$work/credentials.env"
}

# lt_start NAME COMMAND...: runs COMMAND on $SERVER_CORE with stdout and the first lines of
# stderr kept in $work/NAME.{out,log} (the rest of stderr, the access log, is read and
# dropped, as a log collector would: the log is written as in production); sets NAME_pid and
# NAME_url once the server answers, and NAME_ready_ms: milliseconds from the spawn to the
# first 200 of GET /readyz (GET / for the hello-world), polled with curl from $WRK_CORE
# (each attempt is a process start, about 2 to 5 ms: an upper bound of the time to ready).
lt_start() {
  local name=$1 pid url="" started probe status
  shift
  # Emptied here, not by the redirections below: those run in the background child, so a
  # restart of NAME (scripts/ready-time) could read the previous process's address.
  : > "$work/$name.out"
  : > "$work/$name.log"
  started=$(date +%s%N)
  taskset -c "$SERVER_CORE" "$@" > "$work/$name.out" \
    2> >(taskset -c "$WRK_CORE" bash -c 'sed -u 100q > "$1"; cat > /dev/null' _ "$work/$name.log") &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 2000); do
    url=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$work/$name.out" 2>/dev/null ||
      grep -h 'is serving' "$work/$name.log" 2>/dev/null | grep -o -m1 '127\.0\.0\.1:[0-9]*' |
      sed 's|^|http://|' || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  if [ -z "$url" ]; then
    echo "$name did not start:" >&2
    cat "$work/$name.out" "$work/$name.log" >&2
    exit 1
  fi
  probe="$url/readyz"
  [ "$name" = hello ] && probe="$url/"
  for _ in $(seq 1 2000); do
    status=$(taskset -c "$WRK_CORE" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$probe" || true)
    [ "$status" = 200 ] && break
    sleep 0.005
  done
  if [ "$status" != 200 ]; then
    echo "$name never answered 200 on $probe" >&2
    exit 1
  fi
  printf -v "${name}_ready_ms" '%s' "$(( ($(date +%s%N) - started) / 1000000 ))"
  printf -v "${name}_pid" '%s' "$pid"
  printf -v "${name}_url" '%s' "$url"
}

# The brokers of the four configurations and the hello-world server.
lt_start_all() {
  lt_start hello "$LT_BIN/examples/hello_world" 0 1
  local mode
  for mode in hs256 rs256 es256 apikey; do
    lt_start "$mode" "$LT_BIN/s3-broker" serve --config "$work/$mode.toml"
  done
}

# lt_redis_priority PID: gives redis-server precedence over wrk on the core they share
# (REDIS_SCHED: "fifo", the default, is SCHED_FIFO priority 1, so a woken redis-server runs at
# once instead of waiting for wrk's time slice, as it would on a host of its own; "other"
# leaves it in the normal class, sharing the core fairly with wrk). SCHED_FIFO needs root or
# CAP_SYS_NICE; without it the normal class is kept and said. Sets redis_sched to the class used.
lt_redis_priority() {
  redis_sched=other
  [ "${REDIS_SCHED:-fifo}" = fifo ] || return 0
  if chrt -a -p -f 1 "$1" >/dev/null 2>&1; then
    redis_sched=fifo
  else
    echo "redis-server stays in the normal scheduling class (chrt -f needs root)" >&2
  fi
}

# The hs256 broker again with the shared limits store: Debian's redis-server (installed when
# missing) on a free port of 127.0.0.1, pinned to $WRK_CORE (the load generator's core, so the
# broker's core stays its own), and a rate of grants and daily quotas so that every request
# checks the rate and debits both quotas (limits that never refuse: the cost is measured, not the refusals).
lt_start_redis_target() {
  if ! command -v redis-server >/dev/null; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get -o DPkg::Lock::Timeout=300 update >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >&2
  fi
  local port
  for port in $(seq 16379 16479); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    taskset -c "$WRK_CORE" redis-server --bind 127.0.0.1 --port "$port" --save '' \
      --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
    pids+=("$!")
    redis_pid=$!
    break
  done
  lt_redis_priority "$redis_pid"
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  redis-cli -p "$port" ping | grep -q PONG || { echo "redis-server did not start" >&2; exit 1; }
  { cat "$work/hs256.toml"
    printf '\n[limits]\nstore = "redis://127.0.0.1:%s/0"\n' "$port"
    printf '[limits.rates]\ngrants = { requests = 1000000000, window_secs = 1 }\n'
    printf '[limits.quotas]\ngrants_per_day = 1000000000000\nbytes_per_day = 1000000000000000\n'
  } > "$work/hs256redis.toml"
  lt_start hs256redis "$LT_BIN/s3-broker" serve --config "$work/hs256redis.toml"
  HS256REDIS_TOKEN="$HS256_TOKEN"
}

# lt_lua FILE METHOD [HEADER...]: a wrk script sending METHOD (with $BODY for POST) and the
# headers given as "Name: value".
lt_lua() {
  local file=$1 method=$2 header
  shift 2
  {
    echo "wrk.method = \"$method\""
    if [ "$method" = POST ]; then
      echo "wrk.body = '$BODY'"
      echo 'wrk.headers["Content-Type"] = "application/json"'
    fi
    for header in "$@"; do
      echo "wrk.headers[\"${header%%: *}\"] = \"${header#*: }\""
    done
    # A delay per request, for scripts/soak (milliseconds, set by WRK_DELAY_MS).
    echo 'local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")'
    echo 'if pause > 0 then function delay() return pause end end'
  } > "$file"
}

# lt_target NAME: sets t_url, t_lua and t_pid of a measured target (hello, healthz, hs256,
# rs256, es256, apikey), writing its wrk script on first use.
lt_target() {
  local name=$1
  t_lua="$work/$name.lua"
  case $name in
    hello) t_pid=$hello_pid; t_url="$hello_url/"; [ -f "$t_lua" ] || lt_lua "$t_lua" GET ;;
    healthz) t_pid=$hs256_pid; t_url="$hs256_url/healthz"; [ -f "$t_lua" ] || lt_lua "$t_lua" GET ;;
    hs256 | rs256 | es256 | hs256redis)
      local var="${name^^}_TOKEN" pid_var="${name}_pid" url_var="${name}_url"
      t_pid=${!pid_var}
      t_url="${!url_var}/v1/uploads"
      [ -f "$t_lua" ] || lt_lua "$t_lua" POST "Authorization: Bearer ${!var}"
      ;;
    apikey)
      t_pid=$apikey_pid; t_url="$apikey_url/v1/uploads"
      [ -f "$t_lua" ] || lt_lua "$t_lua" POST "X-Api-Key: $API_KEY"
      ;;
    *) echo "unknown target $name" >&2; exit 2 ;;
  esac
}

# lt_check NAME: one request by hand, so a broken setup fails loudly instead of measuring errors.
lt_check() {
  lt_target "$1"
  local args=() status
  case $1 in
    hello | healthz) ;;
    apikey) args=(-X POST -H "X-Api-Key: $API_KEY" -H 'Content-Type: application/json' -d "$BODY") ;;
    *)
      local var="${1^^}_TOKEN"
      args=(-X POST -H "Authorization: Bearer ${!var}" -H 'Content-Type: application/json' -d "$BODY")
      ;;
  esac
  status=$(curl -s -o "$work/check.out" -w '%{http_code}' --max-time 10 "${args[@]}" "$t_url")
  if [ "$status" != 200 ]; then
    echo "$1: the first request answered $status:" >&2
    cat "$work/check.out" >&2
    exit 1
  fi
}

# Server CPU time (user + system) of PID in clock ticks, from /proc/PID/stat fields 14 and 15
# (counted after the parenthesised command name, which may hold spaces).
lt_cpu_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# System CPU time (stime) of PID in clock ticks: the kernel's share of lt_cpu_ticks.
lt_sys_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $13 }'
}

# lt_core_busy CORE: "busy total" clock ticks of CORE from /proc/stat (busy: user, nice,
# system, irq and softirq; total adds idle and iowait).
lt_core_busy() {
  awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat
}

# lt_core_steal CORE: clock ticks CORE's virtual CPU was ready but not run by the host
# (/proc/stat's steal): time the host gave to other guests, which no server's figures show.
lt_core_steal() {
  awk -v c="cpu$1" '$1 == c { print $9 }' /proc/stat
}

# A /proc/PID/status field in KiB (VmHWM: peak resident set; VmRSS: current).
lt_vm_kib() {
  awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# wrk's latency value (e.g. 680.00us, 4.05ms, 1.20s) in milliseconds.
lt_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# lt_wrk NAME SECONDS CONNECTIONS OUT: wrk on $WRK_CORE against target NAME; the report goes
# to OUT; prints "requests/s requests p50_ms p99_ms errors cpu_us_per_request
# sys_us_per_request client_core_busy_percent server_core_steal_percent
# client_core_steal_percent". sys and busy show where a server's CPU goes besides its own
# code: the kernel's share of its time (the loopback TCP path, and waking wrk when wrk sleeps)
# and how busy wrk's core was (every other process on it included). The steals are the
# percent of the run's time each core's virtual CPU waited for the host: a round with steal
# measures the host as much as the server.
lt_wrk() {
  local name=$1 seconds=$2 connections=$3 out=$4 before after sys_before sys_after
  local core_before core_after steal0_before steal0_after steal1_before steal1_after
  lt_target "$name"
  steal0_before=$(lt_core_steal "$SERVER_CORE")
  steal1_before=$(lt_core_steal "$WRK_CORE")
  before=$(lt_cpu_ticks "$t_pid")
  sys_before=$(lt_sys_ticks "$t_pid")
  core_before=$(lt_core_busy "$WRK_CORE")
  timeout $((seconds + 30)) taskset -c "$WRK_CORE" wrk -t"$WRK_THREADS" -c"$connections" \
    -d"${seconds}s" --latency --timeout 5s -s "$t_lua" "$t_url" > "$out"
  after=$(lt_cpu_ticks "$t_pid")
  sys_after=$(lt_sys_ticks "$t_pid")
  core_after=$(lt_core_busy "$WRK_CORE")
  steal0_after=$(lt_core_steal "$SERVER_CORE")
  steal1_after=$(lt_core_steal "$WRK_CORE")
  local rps requests p50 p99 non2xx socket
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  requests=$(awk '/ requests in / { print $1 }' "$out")
  p50=$(lt_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(lt_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  socket=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
  local errors=$(( ${non2xx:-0} + ${socket:-0} ))
  local ticks_per_s
  ticks_per_s=$(getconf CLK_TCK)
  awk -v rps="$rps" -v n="$requests" -v p50="$p50" -v p99="$p99" -v e="$errors" \
    -v ticks=$((after - before)) -v sys=$((sys_after - sys_before)) -v hz="$ticks_per_s" \
    -v core0="$core_before" -v core1="$core_after" -v seconds="$seconds" \
    -v steal0=$((steal0_after - steal0_before)) -v steal1=$((steal1_after - steal1_before)) 'BEGIN {
      split(core0, b, " "); split(core1, a, " ")
      all = a[2] - b[2]
      printf "%s %s %s %s %s %.2f %.2f %.0f %.0f %.0f\n", rps, n, p50, p99, e,
        (n > 0 ? ticks / hz * 1e6 / n : 0), (n > 0 ? sys / hz * 1e6 / n : 0),
        (all > 0 ? (a[1] - b[1]) * 100 / all : 0),
        steal0 * 100 / (hz * seconds), steal1 * 100 / (hz * seconds) }'
}

#!/usr/bin/env bash
# Starts a throw-away single-node Ceph (1 mon + 1 memstore OSD, cephx off) and radosgw
# (Debian radosgw 16.2, beast frontend) on 127.0.0.1:PORT, with an S3 user ACCESS_KEY/SECRET_KEY.
# usage: start-ceph-rgw.sh PORT DATA_DIR
# Ports used besides PORT: mon on 127.0.0.1:PORT+1 (msgr v1) and PORT+2 (v2), daemons on
# 127.0.0.1:PORT+10..PORT+40. Objects live in memory; config and logs in DATA_DIR.
# Prints KEY=VALUE lines (PID, ALL_PIDS, ENDPOINT, ACCESS_KEY, SECRET_KEY, REGION, READY_MS,
# CEPH_CONF) on stdout, also written to DATA_DIR/server.env. Environment: see common.sh.
#
# Pitfalls this script handles: every ms_*_mode must be crc (else rgw loops on auth error -13);
# rgw zone/zonegroup stay unset; "rgw crypt require ssl = false" lets SSE headers through over
# plain HTTP; short paxos intervals bring the start from ~13 s down to ~2 s (each of the ~15
# osdmap changes rgw causes while creating its pools otherwise waits a 1 s propose interval),
# and so does starting radosgw without waiting for the OSD (it waits by itself). The monitor
# refuses to start when its filesystem has less than 5% free ("mon data avail crit"), which a
# CI disk full of build output can reach. Objects live in memory and the monitor's own store
# is a few MB, so that check is off (a disk that is really full still stops the monitor).
set -euo pipefail
USAGE="usage: start-ceph-rgw.sh PORT DATA_DIR"
PORT="${1:?$USAGE}"; DIR="${2:?$USAGE}"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
ensure_installed ceph
prepare_data_dir "$DIR"
MONV1=$((PORT + 1)); MONV2=$((PORT + 2))
require_free_ports "$PORT" "$MONV1" "$MONV2" $(seq $((PORT + 10)) $((PORT + 40)))
rm -rf "$DATA_DIR"/{mon.a,osd.0,run,ceph.conf,monmap,keyring}
mkdir -p "$DATA_DIR"/{mon.a,osd.0,run}
start_watchdog
trap stop_on_failure EXIT

FSID="$(new_uuid)"
CONF="$DATA_DIR/ceph.conf"
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MONV2,v1:127.0.0.1:$MONV1]
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
paxos propose interval = 0.05
paxos min wait = 0.01
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
mon data avail warn = 0
mon data avail crit = 0
ms bind port min = $((PORT + 10))
ms bind port max = $((PORT + 40))
run dir = $DATA_DIR/run
admin socket = $DATA_DIR/run/\$name.asok
log file = $DATA_DIR/log/\$name.log
mon data = $DATA_DIR/mon.\$id
osd data = $DATA_DIR/osd.\$id
keyring = $DATA_DIR/keyring
debug ms = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw dns name = localhost
rgw crypt require ssl = false
CONF

t0=$(now_ms)
C=(ceph -c "$CONF" --connect-timeout 30)
ceph-authtool --create-keyring "$DATA_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >&2
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MONV2,v1:127.0.0.1:$MONV1]" \
  "$DATA_DIR/monmap" >&2
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DATA_DIR/monmap" --keyring "$DATA_DIR/keyring" >&2
spawn "$DATA_DIR/log/mon.stdout" ceph-mon -c "$CONF" -i a -f
MON_PID=$SPAWNED_PID
if ! "${C[@]}" -s >/dev/null; then
  kill -0 "$MON_PID" 2>/dev/null || log "ceph-mon exited: $(cat "$DATA_DIR/log/mon.stdout")"
  exit 1
fi
OSD_UUID="$(new_uuid)"
OSD_ID="$("${C[@]}" osd create "$OSD_UUID")"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$DATA_DIR/log/osd-mkfs.stdout" 2>&1
spawn "$DATA_DIR/log/osd.stdout" ceph-osd -c "$CONF" -i "$OSD_ID" -f
OSD_PID=$SPAWNED_PID
# radosgw waits for the OSD by itself while it creates its pools.
spawn "$DATA_DIR/log/rgw.stdout" radosgw -c "$CONF" -n client.rgw -f
RGW_PID=$SPAWNED_PID
if ! wait_http "http://127.0.0.1:$PORT/" 90; then
  log "radosgw did not answer on 127.0.0.1:$PORT within 90 s"
  exit 1
fi
radosgw-admin -c "$CONF" -n client.admin user create --uid=testbed --display-name=testbed \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
READY=$(( $(now_ms) - t0 ))
untrack_pid $$
emit_env "PID=$RGW_PID" "ALL_PIDS=$RGW_PID $OSD_PID $MON_PID" "ENDPOINT=http://127.0.0.1:$PORT" \
  "ACCESS_KEY=$ACCESS_KEY" "SECRET_KEY=$SECRET_KEY" "REGION=$REGION" "READY_MS=$READY" \
  "CEPH_CONF=$CONF" "DATA_DIR=$DATA_DIR"

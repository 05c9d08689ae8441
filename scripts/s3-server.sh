#!/usr/bin/env bash
# Single-node Ceph RADOS Gateway (Debian bookworm radosgw 16.2) serving S3 on
# 127.0.0.1, for gallerypipe's tests. Runs as root; no systemd needed.
#
# usage: scripts/s3-server.sh install
#        scripts/s3-server.sh start|stop|status DIR
#
#   install  apt-get install the Ceph daemons if missing (quick no-op otherwise)
#   start    create a mon+osd+rgw cluster in DIR (or restart it with its data
#            if DIR already holds one) and wait until S3 requests succeed;
#            exits 0 at once if an RGW already answers with our credentials;
#            a daemon that dies during start is started again, and a cluster
#            that is incomplete or fails twice is replaced by a new one
#   stop     stop rgw, osd, mon (in that order), waiting for each
#   status   show the daemons of DIR; exit 0 iff S3 answers with our keys
#
# env: RGW_PORT (7480), MON_PORT (6789, fixed when DIR is created),
#      S3_ACCESS_KEY / S3_SECRET_KEY (user "tester"),
#      S3_BLOCK_BYTES (bluestore block file size, sparse; default 6 GiB),
#      S3_START_TIMEOUT (seconds, default 180)
set -euo pipefail

usage() {
  echo "usage: $0 install | $0 start|stop|status DIR" >&2
  exit 2
}

cmd=${1:-}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-6789}
AK=${S3_ACCESS_KEY:-TESTACCESSKEY123}
SK=${S3_SECRET_KEY:-TESTSECRETKEY1234567890}
BLOCK_BYTES=${S3_BLOCK_BYTES:-6442450944}
START_TIMEOUT=${S3_START_TIMEOUT:-180}
ENDPOINT="http://127.0.0.1:$RGW_PORT"
MARK="# gallerypipe s3-server cluster"

log() { echo "s3-server: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---------------------------------------------------------------- install
need_install() {
  local b
  for b in radosgw radosgw-admin ceph-mon ceph-osd ceph ceph-authtool monmaptool uuidgen curl; do
    command -v "$b" >/dev/null 2>&1 || return 0
  done
  return 1
}

do_install() {
  need_install || return 0
  [ "$(id -u)" = 0 ] || die "installing Ceph needs root (apt-get)"
  local pkgs=(radosgw ceph-mon ceph-osd uuid-runtime curl)
  export DEBIAN_FRONTEND=noninteractive
  # wait for a concurrent apt/dpkg (another setup step) instead of failing
  local apt=(apt-get -o DPkg::Lock::Timeout=600)
  log "installing ${pkgs[*]}"
  # try with the existing package lists first; refresh them if that fails
  # (no lists yet, or stale lists pointing at superseded .debs)
  if ! "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; then
    "${apt[@]}" update -q >/dev/null
    "${apt[@]}" install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  ! need_install || die "Ceph tools still missing after apt-get install"
}

# ---------------------------------------------------------------- helpers
# Signed S3 request (SigV4, curl >= 7.75). Prints the HTTP status code.
s3_call() { # method path
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X "$1" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$ENDPOINT$2" 2>/dev/null || true
}

http_up() { curl -fs -o /dev/null --max-time 5 "$ENDPOINT/" 2>/dev/null; }
s3_ok() { [ "$(s3_call GET /)" = 200 ]; }

pid_alive() { # name -> 0 if DIR/name.pid names a live daemon of that kind
  local f="$D/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: the process must be the expected ceph daemon
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$D/ceph.conf"
}

start_daemon() { # name, command...
  local n=$1
  shift
  if pid_alive "$n"; then return 0; fi
  # own session, no inherited stdio or lock fd: the daemons outlive this
  # script and must not hold its caller's pipes open (subprocess capture)
  setsid "$@" -f </dev/null >>"$D/log/$n.out" 2>&1 9>&- &
  echo $! >"$D/$n.pid"
}

stop_daemon() { # name
  local n=$1 pid
  if pid_alive "$n"; then
    pid=$(cat "$D/$n.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do # up to 60 s, then SIGKILL
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$n ($pid) did not exit; killing it"
      kill -9 "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
  fi
  rm -f "$D/$n.pid"
}

write_conf() {
  cat >"$D/ceph.conf" <<EOF
$MARK
[global]
fsid = $(uuidgen)
mon host = v1:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
mon warn on insecure global id reclaim allowed = false
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
keyring = $D/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
[mon.a]
mon data = $D/mon.a
[osd.0]
osd data = $D/osd.0
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $BLOCK_BYTES
osd memory target = 1073741824
# avoid an OSD start race (mon sees fsid 000..., OSD dies): the crush entry
# is added by hand instead
osd crush update on start = false
osd class update on start = false
# after an unclean stop (kill -9) RGW's first bucket creation waits for the
# dead RGW's watches on its control objects to expire (30 s by default)
osd client watch timeout = 10
[client.rgw.a]
rgw data = $D/rgw.a
EOF
}

# Each step checks its own status: errexit does not apply inside a function
# called as the condition of || or if.
create_cluster() {
  local uuid fsid
  log "creating a new cluster in $D"
  mkdir -p "$D"/{run,log,mon.a,osd.0} || return 1
  write_conf || return 1
  fsid=$(awk '/^fsid/{print $3}' "$D/ceph.conf")
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' \
    >/dev/null || return 1
  monmaptool --create --fsid "$fsid" --addv a "v1:127.0.0.1:$MON_PORT" "$D/monmap" \
    >/dev/null || return 1
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" \
    >>"$D/log/mon-mkfs.out" 2>&1 || return 1
  start_daemon mon ceph-mon "${C[@]}" -i a
  uuid=$(uuidgen)
  timeout 60 ceph "${C[@]}" osd new "$uuid" >/dev/null || return 1
  timeout 60 ceph "${C[@]}" osd crush add osd.0 1 root=default host=localhost \
    >/dev/null 2>&1 || return 1
  ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$uuid" >>"$D/log/osd-mkfs.out" 2>&1 || return 1
  touch "$D/.initialized"
}

ensure_user() { # give user tester our key pair (never changes an existing secret)
  local info
  if info=$(radosgw-admin "${C[@]}" user info --uid=tester 2>/dev/null); then
    if grep -q "\"access_key\": \"$AK\"" <<<"$info"; then
      die "user tester has access key $AK with another secret key; set S3_SECRET_KEY to it or use a new DIR"
    fi
    radosgw-admin "${C[@]}" key create --uid=tester --key-type=s3 \
      --access-key="$AK" --secret-key="$SK" >/dev/null
  else
    radosgw-admin "${C[@]}" user create --uid=tester --display-name=Tester \
      --access-key="$AK" --secret-key="$SK" >/dev/null
  fi
}

# 0 once a signed ListBuckets succeeds; on the first 403 (unknown key, e.g.
# a new cluster) create the user / key, then keep waiting
user_checked=0
s3_ready() {
  local code
  code=$(s3_call GET /)
  [ "$code" = 200 ] && return 0
  if [ "$code" = 403 ] && [ $user_checked = 0 ]; then
    user_checked=1
    ensure_user || user_checked=0 # not ready for radosgw-admin yet: try again
  fi
  return 1
}

wait_for() { # description, command... -> 1 if a daemon died, 2 if time ran out
  local what=$1 deadline=$((SECONDS + START_TIMEOUT)) n
  shift
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what not ready after ${START_TIMEOUT}s"
      return 2
    fi
    for n in mon osd rgw; do
      pid_alive "$n" || {
        log "$n exited while waiting for $what"
        return 1
      }
    done
    sleep 0.5
  done
}

# The first bucket creation makes RGW create its data pools (~2 s); do it
# here so the tests' first request is not the slow one.
warm_up() {
  local b="s3-server-warmup-$$" code
  code=$(s3_call PUT "/$b")
  [ "$code" = 200 ] || return 1
  s3_call DELETE "/$b" >/dev/null
}

# A cluster that finished creation and still has its stores (a cleaner of
# /tmp may have taken part of it).
cluster_complete() {
  [ -f "$D/.initialized" ] && [ -d "$D/mon.a/store.db" ] && [ -f "$D/keyring" ] &&
    [ -e "$D/osd.0/block" ] && [ -f "$D/osd.0/fsid" ]
}

OURS=(run log mon.a osd.0 rgw.a ceph.conf keyring monmap .initialized mon.pid osd.pid rgw.pid)

only_ours() { # 0 if DIR holds nothing but what this script creates (so it may remove it)
  local entry name
  for entry in "$D"/* "$D"/.[!.]*; do
    [ -e "$entry" ] || continue
    name=${entry##*/}
    [[ " ${OURS[*]} " == *" $name "* ]] || return 1
  done
}

remove_cluster() {
  do_stop
  rm -rf "${OURS[@]/#/$D/}"
}

# Rotate a log that has grown past 100 MiB: RGW logs every request.
trim_logs() {
  local f
  for f in "$D"/log/*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 104857600 ] && mv -f "$f" "$f.old"
  done
  return 0
}

show_logs() { # the last lines of each daemon's output, to say why it failed
  local f
  for f in "$D"/log/{mon,osd,rgw}.out "$D"/log/{mon.a,osd.0,client.rgw.a}.log; do
    [ -s "$f" ] || continue
    log "--- last lines of $f"
    tail -n 8 "$f" | cut -c1-300 >&2
  done
}

# One try at bringing the cluster up; 1 if a daemon died or creation failed, 2 if the
# daemons run but S3 is not ready in time.
bring_up() {
  if [ -f "$D/ceph.conf" ] && ! cluster_complete; then
    log "$D holds an incomplete cluster; removing it"
    remove_cluster
  fi
  if [ ! -f "$D/ceph.conf" ]; then
    create_cluster || return 1
  else
    pid_alive mon || log "restarting the cluster in $D"
    mkdir -p "$D"/{run,log}
    trim_logs
    start_daemon mon ceph-mon "${C[@]}" -i a
  fi
  start_daemon osd ceph-osd "${C[@]}" -i 0
  start_daemon rgw radosgw "${C[@]}" -n client.rgw.a \
    --rgw-frontends "beast endpoint=127.0.0.1:$RGW_PORT"
  user_checked=0
  wait_for "radosgw on port $RGW_PORT" http_up &&
    wait_for "S3 ListBuckets" s3_ready &&
    wait_for "S3 CreateBucket" warm_up
}

# Daemons can die for reasons outside the cluster (a process sweep on the
# machine, a port still held): try again, and after two failures start over
# with a new cluster, since the tests' data is disposable. A cluster that
# runs but is slow is not replaced: that would not make it faster.
do_start() {
  local try rc
  if s3_ok; then
    echo "S3 endpoint $ENDPOINT (already running)"
    return 0
  fi
  if http_up; then
    pid_alive rgw || die "port $RGW_PORT answers HTTP but our credentials fail (not our RGW?)"
  fi
  do_install
  if [ -f "$D/ceph.conf" ] && ! grep -qx "$MARK" "$D/ceph.conf"; then
    die "$D/ceph.conf was not written by this script; use another DIR"
  fi
  only_ours || die "$D holds files this script did not write; use another DIR"
  for try in 1 2 3 4; do
    if bring_up; then
      echo "S3 endpoint $ENDPOINT"
      return 0
    else
      rc=$?
    fi
    show_logs
    [ $rc != 2 ] || die "S3 on $ENDPOINT is not ready; the daemons run (see $D/log)"
    if [ $try = 2 ]; then
      log "starting the cluster failed twice; creating a new one"
      remove_cluster
    else
      do_stop
    fi
    [ $try = 4 ] || sleep $((try * 5)) # let whatever stopped the daemons pass
  done
  die "radosgw did not start; see $D/log"
}

do_stop() {
  local n
  for n in rgw osd mon; do stop_daemon "$n"; done
}

do_status() {
  local n rc=0
  for n in mon osd rgw; do
    if pid_alive "$n"; then
      echo "$n: running (pid $(cat "$D/$n.pid"))"
    else
      echo "$n: stopped"
    fi
  done
  if s3_ok; then
    echo "S3 endpoint $ENDPOINT: ok"
  else
    echo "S3 endpoint $ENDPOINT: not answering with our credentials"
    rc=3
  fi
  return $rc
}

case $cmd in
install)
  do_install
  ;;
start | stop | status)
  [ -n "${2:-}" ] || usage
  D=$(realpath -m "$2")
  C=(-c "$D/ceph.conf")
  # serialize concurrent start/stop on one DIR (e.g. pytest-xdist workers)
  mkdir -p "$(dirname "$D")"
  exec 9>"$D.lock"
  flock 9
  "do_$cmd"
  ;;
*) usage ;;
esac

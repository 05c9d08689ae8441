#!/usr/bin/env bash
# Runs gallerypipe's tests on a fresh machine: installs what they need (pip extras; Debian's
# hugo, exiftool, chromium and Ceph when missing), starts the S3 server, runs pytest, and stops
# the S3 server again (GALLERYPIPE_KEEP_S3=1 keeps it running for the next run). Extra arguments
# go to pytest; the exit code is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test.sh: $*" >&2; }

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

missing=()
command -v hugo >/dev/null || missing+=(hugo)
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "needs root to apt-get install ${missing[*]}"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
  log "installing ${missing[*]}"
  "${apt[@]}" install "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get -q update >/dev/null && "${apt[@]}" install "${missing[@]}" >/dev/null; }
fi

scripts/s3-server.sh install
s3_dir="${GALLERYPIPE_TEST_S3_DIR:-/tmp/gallerypipe-rgw}"
stop_s3() {
  if [ "${GALLERYPIPE_KEEP_S3:-0}" = 1 ]; then
    log "S3 server left running (GALLERYPIPE_KEEP_S3=1); stop it with scripts/s3-server.sh stop $s3_dir"
  else
    scripts/s3-server.sh stop "$s3_dir" >/dev/null || log "could not stop the S3 server in $s3_dir"
  fi
}
trap stop_s3 EXIT # also when pytest is interrupted; the exit code stays pytest's
scripts/s3-server.sh start "$s3_dir"

python3 -m pytest -q "$@"

#!/usr/bin/env bash
# Installs the real S3 servers the end-to-end tests run against, the browser of tests/browser/
# (the demo page, end-to-end encryption and Uppy tests), and the Uppy bundles of
# tests/browser/uppy.rs, when they are missing.
# usage: install.sh [all|s3s-fs|ceph|redis|chromium|uppy|dropzone|jdk|tour]  (default: all; usable from CI)
#   s3s-fs    cargo install s3s-fs@0.17.0 into target/testbed (or $TESTBED_ROOT)
#   ceph      apt-get install radosgw ceph-mon ceph-osd ceph-common (needs root or sudo)
#   redis     apt-get install redis-server (the shared store of [limits]; needs root or sudo)
#   chromium  apt-get install chromium chromium-driver (needs root or sudo)
#   uppy      tests/fixtures/uppy/build.sh: npm ci of the pinned Uppy 5 and 6 projects,
#             esbuild bundles in target/uppy/ (needs node and npm; rebuilt every time, a few seconds)
#   jdk       apt-get install openjdk-17-jdk-headless kotlin (javac, kotlinc, java: tests/mobile.rs)
#   dropzone  tests/fixtures/dropzone/build.sh: npm ci of the pinned Dropzone into target/dropzone/
#             (needs node and npm; skipped while the lock is unchanged)
#   tour      apt-get install curl jq (the README tour that tests/readme_tour.rs runs)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
WHAT="${1:-all}"
S3S_FS_VERSION="0.17.0"

install_s3s_fs() {
  if s3s_fs_bin >/dev/null; then log "s3s-fs present: $(s3s_fs_bin)"; return 0; fi
  command -v cargo >/dev/null || die "cargo is needed to install s3s-fs"
  mkdir -p "$TESTBED_ROOT"
  local t0; t0=$(now_ms)
  # s3s-fs 0.17 declares rust-version 1.96; it builds fine with 1.95, hence
  # --ignore-rust-version. The lock keeps two installers (two test runs) from racing.
  flock "$TESTBED_ROOT/.install.lock" \
    cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked --ignore-rust-version \
    --root "$TESTBED_ROOT" >&2
  log "installed s3s-fs in $(( $(now_ms) - t0 )) ms: $(s3s_fs_bin)"
}

# apt_install PKG...: installs Debian packages without recommends (as root, or with sudo).
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "installing $* needs root (or sudo)"
    sudo="sudo"
  fi
  $sudo apt-get -o DPkg::Lock::Timeout=300 update >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
    --no-install-recommends "$@" >&2
}

install_ceph() {
  if have_ceph; then log "ceph present: $(radosgw --version 2>/dev/null | head -1)"; return 0; fi
  local t0; t0=$(now_ms)
  apt_install radosgw ceph-mon ceph-osd ceph-common
  have_ceph || die "ceph packages installed but radosgw/ceph-mon/ceph-osd/ceph not on PATH"
  log "installed ceph in $(( $(now_ms) - t0 )) ms"
}

# Debian's redis-server (and redis-cli), the shared limits store of tests/e2e/service_limits*.rs.
install_redis() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    log "redis present: $(redis-server --version)"; return 0
  fi
  apt_install redis-server
  command -v redis-server >/dev/null || die "redis-server installed but not on PATH"
}

# Debian's chromium and its chromedriver, for the headless test of the `s3-broker dev` page.
have_chromium() { [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null; }

install_chromium() {
  if have_chromium; then log "chromium present: $(chromedriver --version 2>/dev/null)"; return 0; fi
  local t0; t0=$(now_ms)
  apt_install chromium chromium-driver
  have_chromium || die "chromium packages installed but /usr/bin/chromium or chromedriver missing"
  log "installed chromium in $(( $(now_ms) - t0 )) ms"
}

# The pinned Uppy 5 and Uppy 6 bundles of tests/browser/uppy.rs (fast once npm's cache is warm).
install_uppy() {
  local t0; t0=$(now_ms)
  bash "$REPO_ROOT/tests/fixtures/uppy/build.sh" >&2
  log "built the Uppy bundles in $(( $(now_ms) - t0 )) ms"
}

# Debian's JDK and Kotlin compiler, for the Java and Kotlin examples of tests/mobile.rs.
install_jdk() {
  if command -v javac >/dev/null && command -v java >/dev/null && command -v kotlinc >/dev/null; then
    log "jdk present: $(javac -version 2>&1), kotlinc present"; return 0
  fi
  local t0; t0=$(now_ms)
  apt_install openjdk-17-jdk-headless kotlin
  command -v javac >/dev/null || die "openjdk-17-jdk-headless installed but javac not on PATH"
  command -v kotlinc >/dev/null || die "kotlin installed but kotlinc not on PATH"
  log "installed the jdk and kotlin in $(( $(now_ms) - t0 )) ms"
}

# The pinned Dropzone of tests/browser/examples.rs.
install_dropzone() {
  bash "$REPO_ROOT/tests/fixtures/dropzone/build.sh" >&2
}

# curl and jq, which the README's tour uses (tests/readme_tour.rs runs it).
install_tour_tools() {
  if command -v curl >/dev/null && command -v jq >/dev/null; then log "curl and jq present"; return 0; fi
  apt_install curl jq
}

case "$WHAT" in
  all) install_s3s_fs; install_ceph; install_redis; install_chromium; install_uppy; install_dropzone; install_jdk; install_tour_tools ;;
  s3s-fs) install_s3s_fs ;;
  ceph) install_ceph ;;
  redis) install_redis ;;
  chromium) install_chromium ;;
  uppy) install_uppy ;;
  dropzone) install_dropzone ;;
  jdk) install_jdk ;;
  tour) install_tour_tools ;;
  *) die "usage: install.sh [all|s3s-fs|ceph|redis|chromium|uppy|dropzone|jdk|tour]" ;;
esac

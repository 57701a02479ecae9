#!/usr/bin/env bash
# Bundles Uppy 5 and Uppy 6 for tests/uppy.rs: for each of v5 and v6, `npm ci` of the pinned
# package-lock.json into target/uppy/<v>/ (outside the source tree), then esbuild bundles
# <v>/entry.js (which imports examples/uppy/uppy<5|6>.js) into one IIFE,
# target/uppy/<v>/bundle.js. Needs node and npm, and the npm registry for the first install.
# usage: tests/uppy/build.sh        (also run by scripts/testbed/install.sh uppy)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${UPPY_BUNDLE_DIR:-$ROOT/target/uppy}"
log() { echo "uppy: $*" >&2; }
command -v npm >/dev/null || { log "npm is needed (Node.js 20 or later)"; exit 1; }

for v in v5 v6; do
  work="$OUT/$v"
  mkdir -p "$work"
  # npm ci wipes and reinstalls node_modules; skip it while the lock is unchanged.
  if ! cmp -s "$HERE/$v/package-lock.json" "$work/package-lock.json" \
    || [ ! -x "$work/node_modules/.bin/esbuild" ]; then
    cp "$HERE/$v/package.json" "$HERE/$v/package-lock.json" "$work/"
    log "npm ci in $work"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # entry.js and examples/uppy/ live outside $work: NODE_PATH lets esbuild find the packages.
  NODE_PATH="$work/node_modules" "$work/node_modules/.bin/esbuild" "$HERE/$v/entry.js" \
    --bundle --format=iife --platform=browser --target=chrome100 --log-level=warning \
    --outfile="$work/bundle.js"
  log "built $work/bundle.js ($(wc -c < "$work/bundle.js") bytes)"
done

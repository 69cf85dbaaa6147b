#!/usr/bin/env bash
# Builds Gridwatch's .deb and .rpm with the Tauri bundler (the prebuilt
# binary in the npm package @tauri-apps/cli, pinned in packaging/).
#   scripts/package.sh           release build: the packages to ship
#   scripts/package.sh --debug   the debug build the tests already made
# The packages land in $CARGO_TARGET_DIR/<profile>/bundle/{deb,rpm}/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ ! -x packaging/node_modules/.bin/tauri ] || [ packaging/package-lock.json -nt packaging/node_modules/.package-lock.json ]; then
  (cd packaging && npm ci --no-audit --no-fund --loglevel=error)
fi
[ -f ui/dist/index.html ] || scripts/build-ui.sh
# The bundler reads src-tauri/tauri.conf.json (name, version, icons).
cd src-tauri
../packaging/node_modules/.bin/tauri build --bundles deb,rpm --ci "$@"

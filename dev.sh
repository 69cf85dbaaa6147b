#!/usr/bin/env bash
# Gridwatch's set-up commands on Debian or Ubuntu:
#   ./dev.sh app    install what is missing, build, and open the app (embedded mode)
#   ./dev.sh test   install what is missing, build, and run every test
#   ./dev.sh setup  only install what is missing (system packages, Rust target, tools)
#   ./dev.sh ui     only rebuild the wasm UI into ui/dist
#   ./dev.sh package  build the release .deb and .rpm (target/release/bundle/)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# Tauri's build needs these; the app and its tests need the second list.
BUILD_PACKAGES=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev)
TEST_PACKAGES=(curl chromium poppler-utils xvfb x11-utils imagemagick x11-apps xauth xdotool fonts-dejavu-core
  dbus-bin dbus-daemon mesa-vulkan-drivers influxdb)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

setup() {
  command -v apt-get >/dev/null || { echo "this script sets up Debian or Ubuntu (apt-get not found)" >&2; exit 1; }
  install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  # The tests start their own influxd on loopback; the package's service
  # would listen on every interface.
  if command -v systemctl >/dev/null && systemctl is-enabled influxdb >/dev/null 2>&1; then
    as_root systemctl disable --now influxdb >/dev/null 2>&1 || true
  fi
  command -v cargo >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), 1.94 or newer" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  # wasm-bindgen-cli must match the wasm-bindgen crate exactly.
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (about 2 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz (about 2 minutes, once)"
    cargo install cargo-fuzz --locked
  fi
  setup_emulators
}

# The AWS emulators the tests start on 127.0.0.1: kinesalite (npm) and
# moto server plus boto3 (PyPI), kept inside tests/emulators.
setup_emulators() {
  command -v node >/dev/null && command -v npm >/dev/null || install_packages nodejs npm
  local dir=tests/emulators
  if [ ! -d "$dir/node_modules/kinesalite" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing kinesalite (npm)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ ! -x "$dir/.venv/bin/python" ]; then
    python3 -m venv "$dir/.venv" 2>/dev/null || { install_packages python3-venv; python3 -m venv "$dir/.venv"; }
  fi
  if ! cmp -s "$dir/requirements.txt" "$dir/.venv/installed.txt"; then
    say "installing moto and boto3 (PyPI)"
    "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
    cp "$dir/requirements.txt" "$dir/.venv/installed.txt"
  fi
  # AWS Labs' KPL aggregator: makes and reads the aggregates of the KPL tests.
  local kpl=tests/fixtures/kpl/requirements.txt
  if ! cmp -s "$kpl" "$dir/.venv/installed-kpl.txt"; then
    say "installing aws-kinesis-agg and protobuf (PyPI)"
    "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$kpl"
    cp "$kpl" "$dir/.venv/installed-kpl.txt"
  fi
}

build_ui() { say "building the UI (wasm32)"; scripts/build-ui.sh; }

case "${1:-}" in
  setup) setup ;;
  ui) build_ui ;;
  app)
    setup
    build_ui
    say "building and starting Gridwatch (the first build takes a while)"
    shift
    exec cargo run -p gridwatch -- "$@"
    ;;
  test)
    setup
    build_ui
    say "building the app binary for the end-to-end tests"
    cargo build -p gridwatch
    say "running every test"
    cargo test --workspace
    say "fuzzing the codec, KPL, extracts, the calendar, partitions and times (bounded)"
    scripts/fuzz.sh 20
    say "packaging: the .deb installs and runs, the .rpm builds"
    scripts/test-package.sh
    ;;
  package)
    setup
    build_ui
    shift
    say "building the release .deb and .rpm (a release build: long, once)"
    scripts/package.sh "$@"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

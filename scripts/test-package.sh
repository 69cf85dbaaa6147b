#!/usr/bin/env bash
# The packaging test: the Tauri bundler's .deb installs with apt-get, and the
# installed gridwatch runs (--version, a short simulated fleet into a cache,
# the devices it wrote); the .rpm is built beside it. Removes the package
# afterwards. Needs root or sudo (it installs a system package).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "package test FAILED: $*" >&2; exit 1; }

scripts/package.sh --debug
bundle="$CARGO_TARGET_DIR/debug/bundle"
deb=$(ls "$bundle"/deb/*_amd64.deb)
rpm=$(ls "$bundle"/rpm/*.x86_64.rpm)
[ -s "$rpm" ] || fail "no .rpm in $bundle/rpm"

as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
trap 'as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq gridwatch >/dev/null' EXIT

installed=$(dpkg-query -L gridwatch)
for f in /usr/bin/gridwatch /usr/share/applications/Gridwatch.desktop \
  /usr/share/icons/hicolor/128x128/apps/gridwatch.png; do
  grep -qx "$f" <<<"$installed" || fail "$f is not in the package"
done

version=$(/usr/bin/gridwatch --version)
want="gridwatch $(awk -F'"' '/"version"/ {print $4; exit}' src-tauri/tauri.conf.json)"
[ "$version" = "$want" ] || fail "gridwatch --version said '$version', not '$want'"

tmp=$(mktemp -d)
/usr/bin/gridwatch simulate --cache "$tmp/c.sqlite" --devices 7 --duration 30s --fast >/dev/null 2>"$tmp/err" \
  || { cat "$tmp/err" >&2; fail "the installed gridwatch simulate failed"; }
devices=$(/usr/bin/gridwatch devices --cache "$tmp/c.sqlite" --format csv | tail -n +2 | wc -l)
[ "$devices" -eq 7 ] || fail "the simulated fleet wrote $devices devices, not 7"
rm -rf "$tmp"
echo "package test passed: $(basename "$deb") installs; $version; simulate wrote $devices devices; $(basename "$rpm") built"

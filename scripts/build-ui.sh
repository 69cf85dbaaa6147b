#!/usr/bin/env bash
# Builds the egui UI to wasm32 and lays it out in ui/dist for the Tauri shell
# to embed. Needs the wasm32 target and wasm-bindgen-cli (./dev.sh setup).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -p gridwatch-ui --lib --target wasm32-unknown-unknown --release
mkdir -p ui/dist
wasm-bindgen --target web --no-typescript --out-dir ui/dist \
  "$target_dir/wasm32-unknown-unknown/release/gridwatch_ui.wasm"
cp ui/index.html ui/main.js ui/style.css ui/dist/
echo "UI built into ui/dist ($(du -h ui/dist/gridwatch_ui_bg.wasm | cut -f1) of wasm)"

#!/usr/bin/env bash
# What the record checks of issue 12 cost the decoder: the codec as it was
# before them (git 17fe808, core/src/codec.rs) and as it is now, built into
# one program and timed in alternating rounds on the same 1,000 meter
# records (those of core/benches/hot_paths.rs), so the machine's noise falls
# on both alike. Prints the median of the per-round time ratios, twice:
# with serde_json as it was (preserve_order) and with correctly rounded
# float parsing added (float_roundtrip), which the fuzzer made necessary.
#   scripts/bench-codec-checks.sh [rounds, default 41]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-41}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/bench-codec-checks"
mkdir -p "$work/src"
git -C "$root" show 17fe808:core/src/codec.rs >"$work/src/before.rs"
cp "$root/core/codec/src/lib.rs" "$work/src/now.rs"
cat >"$work/src/main.rs" <<'RS'
#![allow(dead_code, clippy::all)]
mod before;
mod now;
use std::hint::black_box;
use std::time::Instant;
const T0: i64 = 1_700_000_000_000_000;
fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(41);
    // "count <before|now|none>": decode 10 x 1,000 records with one codec
    // (or none), for an instruction count under callgrind.
    let count = std::env::args().nth(2);
    let wire: Vec<Vec<u8>> = (0..1_000u64).map(|i| {
        let r = now::Record {
            device_id: format!("c0ffee00-8b1e-4a7c-9d2f-{:012x}", i % 1000),
            time_us: T0 + i as i64 * 1_000,
            time_adjusted: false,
            measures: vec![
                ("voltage".into(), 229.0 + (i % 17) as f64 * 0.13),
                ("current".into(), 3.0 + (i % 7) as f64 * 0.21),
                ("watt".into(), 700.0 + (i % 101) as f64),
                ("energy".into(), 12_345.678 + i as f64 * 0.001),
                ("temperature".into(), 18.5 + (i % 9) as f64 * 0.1),
            ],
            dimensions: vec![
                ("DeviceType".into(), "smart_meter".into()),
                ("Region".into(), "north".into()),
                ("Feeder".into(), "N-F07".into()),
            ],
        };
        let mut buf = Vec::new();
        now::encode(&r, &mut buf);
        buf
    }).collect();
    let time = |f: &dyn Fn(&[u8]) -> bool| {
        let start = Instant::now();
        for _ in 0..50 {
            for w in &wire {
                assert!(black_box(f(black_box(w))));
            }
        }
        start.elapsed().as_secs_f64()
    };
    let before = |w: &[u8]| before::decode(w, T0).is_ok();
    let now = |w: &[u8]| now::decode(w, T0).is_ok();
    if let Some(which) = count {
        for _ in 0..10 {
            for w in &wire {
                match which.as_str() {
                    "before" => assert!(black_box(before(black_box(w)))),
                    "now" => assert!(black_box(now(black_box(w)))),
                    _ => { black_box(w); }
                }
            }
        }
        return;
    }
    let mut ratios = Vec::new();
    let (mut t_before, mut t_now) = (0.0, 0.0);
    time(&before);
    time(&now);
    for _ in 0..rounds {
        let b = time(&before);
        let n = time(&now);
        t_before += b;
        t_now += n;
        ratios.push(n / b);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    let records = (rounds * 50 * wire.len()) as f64;
    println!(
        "before {:.2} M records/s, now {:.2} M records/s, median time ratio now/before {:.3} (p10 {:.3}, p90 {:.3})",
        records / t_before / 1e6,
        records / t_now / 1e6,
        ratios[rounds / 2],
        ratios[rounds / 10],
        ratios[rounds * 9 / 10],
    );
}
RS
for features in '"preserve_order"' '"preserve_order", "float_roundtrip"'; do
  cat >"$work/Cargo.toml" <<TOML
[package]
name = "bench-codec-checks"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = [$features] }
thiserror = "2"
[profile.release]
lto = "thin"
codegen-units = 4
[workspace]
TOML
  cp "$root/Cargo.lock" "$work/Cargo.lock"
  echo "serde_json features [$features]:"
  (cd "$work" && cargo run -q --release -- "$rounds")
  # Instructions are the same whatever else the machine does: the steadier
  # figure on a busy machine.
  if command -v valgrind >/dev/null; then
    bin="$CARGO_TARGET_DIR/release/bench-codec-checks"
    instr() {
      valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 1 "$1" 2>&1 \
        | awk '/Collected/ {print $NF}'
    }
    none=$(instr none); before=$(instr before); now=$(instr now)
    awk -v n="$none" -v b="$before" -v w="$now" 'BEGIN {
      printf "instructions a record: before %.0f, now %.0f, ratio now/before %.3f\n",
        (b - n) / 10000, (w - n) / 10000, (w - n) / (b - n) }'
  fi
done

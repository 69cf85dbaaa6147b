#!/usr/bin/env bash
# What the record checks of issue 12 cost: the codec as it was before them
# (git 17fe808, core/src/codec.rs) and the gridwatch-codec crate as it is
# now, built into one program and timed in alternating rounds on the same
# 1,000 meter records (those of core/benches/hot_paths.rs), so the
# machine's noise falls on both alike. Two figures, each a ratio now/before:
#   decode  the records decoded, nothing else;
#   ingest  the records decoded and their readings written to SQLite the
#           way the cache writes them (WAL, synchronous=NORMAL, one
#           transaction, a prepared INSERT into the cache's table shape):
#           hot_paths' bare insert loop, which runs at 0.99 to 1.07 of
#           Cache::ingest, so the share of ingest the checks take.
# Under callgrind (valgrind), instructions a record too: the steady figure
# on a busy machine.
#   scripts/bench-codec-checks.sh [rounds, default 41]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-41}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/bench-codec-checks"
mkdir -p "$work/src"
git -C "$root" show 17fe808:core/src/codec.rs >"$work/src/before.rs"
cat >"$work/src/main.rs" <<'RS'
#![allow(dead_code, clippy::all)]
mod before;
use gridwatch_codec as now;
use std::hint::black_box;
use std::time::Instant;
const T0: i64 = 1_700_000_000_000_000;

/// The same fields from either codec's record.
trait Readings {
    fn time_us(&self) -> i64;
    fn values(&self) -> Vec<f64>;
}
impl Readings for before::Record {
    fn time_us(&self) -> i64 { self.time_us }
    fn values(&self) -> Vec<f64> { self.measures.iter().map(|m| m.1).collect() }
}
impl Readings for now::Record {
    fn time_us(&self) -> i64 { self.time_us }
    fn values(&self) -> Vec<f64> { self.measures.iter().map(|m| m.1).collect() }
}

fn wire(pass: i64) -> Vec<Vec<u8>> {
    (0..1_000u64).map(|i| {
        let r = now::Record {
            device_id: format!("c0ffee00-8b1e-4a7c-9d2f-{:012x}", i % 1000),
            time_us: T0 + pass * 1_000_000_000 + i as i64 * 1_000,
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
    }).collect()
}

fn open(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL").expect("sync");
    conn.execute_batch(
        "CREATE TABLE reading (device INTEGER NOT NULL, measure INTEGER NOT NULL, \
         ts_us INTEGER NOT NULL, value REAL NOT NULL, \
         PRIMARY KEY (device, measure, ts_us)) WITHOUT ROWID",
    ).expect("table");
    conn
}

/// Decodes the records with `decode` and writes their readings.
fn ingest<R: Readings>(conn: &rusqlite::Connection, wire: &[Vec<u8>], decode: &dyn Fn(&[u8]) -> Option<R>) {
    let tx = conn.unchecked_transaction().expect("tx");
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO reading (device, measure, ts_us, value) VALUES (?1, ?2, ?3, ?4)",
        ).expect("prepare");
        for (i, w) in wire.iter().enumerate() {
            let r = decode(black_box(w)).expect("decodes");
            for (m, v) in r.values().into_iter().enumerate() {
                stmt.execute(rusqlite::params![(i % 1000) as i64, m as i64, r.time_us(), v]).expect("insert");
            }
        }
    }
    tx.commit().expect("commit");
}

fn median_ratio(mut ratios: Vec<f64>) -> String {
    ratios.sort_by(|a, b| a.total_cmp(b));
    let n = ratios.len();
    format!("median {:.3} (p10 {:.3}, p90 {:.3})", ratios[n / 2], ratios[n / 10], ratios[n * 9 / 10])
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(41);
    // "count <decode-before|decode-now|decode-none|ingest-before|ingest-now|ingest-none>":
    // one pass over the 1,000 records, for an instruction count.
    let count = std::env::args().nth(2);
    let dir = std::env::temp_dir().join(format!("bench-codec-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let before = |w: &[u8]| before::decode(w, T0 + (1 << 50)).ok();
    let now = |w: &[u8]| now::decode(w, T0 + (1 << 50)).ok();
    if let Some(which) = count {
        let wire = wire(0);
        let conn = open(&dir.join("count.sqlite"));
        let none = |_: &[u8]| Some(before::Record { device_id: String::new(), time_us: 0, time_adjusted: false, measures: vec![], dimensions: vec![] });
        for _ in 0..10 {
            for w in &wire {
                match which.as_str() {
                    "decode-before" => assert!(black_box(before(black_box(w))).is_some()),
                    "decode-now" => assert!(black_box(now(black_box(w))).is_some()),
                    _ => { black_box(w); }
                }
            }
        }
        match which.as_str() {
            "ingest-before" => ingest(&conn, &wire, &before),
            "ingest-now" => ingest(&conn, &wire, &now),
            "ingest-none" => ingest(&conn, &wire, &none),
            _ => {}
        }
        std::fs::remove_dir_all(&dir).ok();
        return;
    }
    let passes: Vec<Vec<Vec<u8>>> = (0..2 * rounds as i64 + 2).map(wire).collect();
    let time = |f: &dyn Fn(&[u8]) -> bool| {
        let start = Instant::now();
        for _ in 0..50 {
            for w in &passes[0] {
                assert!(black_box(f(black_box(w))));
            }
        }
        start.elapsed().as_secs_f64()
    };
    let (mut t_before, mut t_now) = (0.0, 0.0);
    let mut ratios = Vec::new();
    time(&|w| before(w).is_some());
    time(&|w| now(w).is_some());
    for _ in 0..rounds {
        let b = time(&|w| before(w).is_some());
        let n = time(&|w| now(w).is_some());
        t_before += b;
        t_now += n;
        ratios.push(n / b);
    }
    let records = (rounds * 50 * 1000) as f64;
    println!(
        "decode: before {:.2} M records/s, now {:.2} M records/s, time ratio now/before {}",
        records / t_before / 1e6, records / t_now / 1e6, median_ratio(ratios),
    );
    // Each codec writes into its own cache, each pass new times.
    let (cb, cn) = (open(&dir.join("before.sqlite")), open(&dir.join("now.sqlite")));
    let mut ratios = Vec::new();
    let (mut t_before, mut t_now) = (0.0, 0.0);
    for (round, pair) in passes.chunks(2).enumerate() {
        let start = Instant::now();
        ingest(&cb, &pair[0], &before);
        let b = start.elapsed().as_secs_f64();
        let start = Instant::now();
        ingest(&cn, &pair[0], &now);
        let n = start.elapsed().as_secs_f64();
        // The first pair warms both up.
        if round > 0 {
            t_before += b;
            t_now += n;
            ratios.push(n / b);
        }
    }
    let readings = (rounds * 5 * 1000) as f64;
    println!(
        "ingest: before {:.1} k readings/s, now {:.1} k readings/s, time ratio now/before {}",
        readings / t_before / 1e3, readings / t_now / 1e3, median_ratio(ratios),
    );
    std::fs::remove_dir_all(&dir).ok();
}
RS
cat >"$work/Cargo.toml" <<TOML
[package]
name = "bench-codec-checks"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
gridwatch-codec = { path = "$root/core/codec" }
serde = { version = "1", features = ["derive"] }
# The workspace's features, so both codecs parse numbers alike.
serde_json = { version = "1", features = ["preserve_order", "float_roundtrip"] }
thiserror = "2"
rusqlite = { version = "0.43", features = ["bundled"] }
[profile.release]
lto = "thin"
codegen-units = 4
debug = "line-tables-only"
[workspace]
TOML
cp "$root/Cargo.lock" "$work/Cargo.lock"
(cd "$work" && cargo build -q --release)
bin="$CARGO_TARGET_DIR/release/bench-codec-checks"
"$bin" "$rounds"
if command -v valgrind >/dev/null; then
  instr() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 1 "$1" 2>&1 \
      | awk '/Collected/ {print $NF}'
  }
  none=$(instr decode-none); before=$(instr decode-before); now=$(instr decode-now)
  awk -v n="$none" -v b="$before" -v w="$now" 'BEGIN {
    printf "decode instructions a record: before %.0f, now %.0f, ratio now/before %.3f\n",
      (b - n) / 10000, (w - n) / 10000, (w - n) / (b - n) }'
  none=$(instr ingest-none); before=$(instr ingest-before); now=$(instr ingest-now)
  awk -v n="$none" -v b="$before" -v w="$now" 'BEGIN {
    printf "ingest instructions a record (decode and write): before %.0f, now %.0f, ratio now/before %.3f\n",
      (b - n) / 1000, (w - n) / 1000, (w - n) / (b - n) }'
fi

//! Lake extracts and the strategic views, checked against DuckDB (an
//! independent engine, run from its PyPI package) on the same files.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use gridwatch_tests::{gridwatch, gridwatch_ok};
use serde_json::Value;

const START_MS: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z
const DAY_MS: i64 = 86_400_000;

fn simulate(lake: &Path, extra: &[&str]) {
    let mut args = vec![
        "simulate",
        "--to",
        "lake",
        "--lake",
        lake.to_str().unwrap(),
        "--devices",
        "60",
        "--feeders",
        "3",
        "--transformers",
        "3",
        "--interval",
        "10m",
        "--days",
        "3",
        "--start",
    ];
    let start = START_MS.to_string();
    args.push(&start);
    args.extend_from_slice(extra);
    gridwatch_ok(&lake.join("unused.sqlite"), &args);
}

/// A device whose energy counter resets and has a gap, in its own extract.
fn add_counter_reset(lake: &Path) {
    let dir = lake.join("readings/json/year=2023/month=11/day=15/hour=10");
    std::fs::create_dir_all(&dir).unwrap();
    let t0 = 1_700_042_400_000i64; // 2023-11-15T10:00:00Z
    let mut lines = String::new();
    for (i, (offset_min, energy)) in [(0, 100.0), (10, 101.5), (20, 2.0), (50, 4.5), (55, 6.0)]
        .iter()
        .enumerate()
    {
        lines.push_str(&format!(
            "{{\"Time\": {}, \"DeviceID\": \"reset-meter\", \"voltage_measure\": {}, \"watt_measure\": {}, \"energy_measure\": {energy}, \"current_measure\": 1, \"Region\": \"north\", \"Feeder\": \"N-F01\", \"DeviceType\": \"smart_meter\"}}\n",
            t0 + offset_min * 60_000,
            229.0 + i as f64,
            500 + i * 10
        ));
    }
    std::fs::write(dir.join("manual-1-2023-11-15-10-00-00-reset"), lines).unwrap();
}

/// `gridwatch aggregate` over the lake, as JSON.
fn aggregate_args(
    lake: &Path,
    from: i64,
    to: i64,
    by: &str,
    filter: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "aggregate",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    if !by.is_empty() {
        args.push(format!("--by={by}"));
    }
    if !filter.is_empty() {
        args.push(format!("--where={filter}"));
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn rows_of(json: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ours(lake: &Path, from: i64, to: i64, by: &str, filter: &str, extra: &[&str]) -> Vec<Value> {
    let args = aggregate_args(lake, from, to, by, filter, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rows_of(&gridwatch_ok(&lake.join("unused.sqlite"), &args))
}

fn duckdb(
    lake: &Path,
    from: i64,
    to: i64,
    by: &str,
    filter: &str,
    load_duration: bool,
) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/duckdb_aggregate.py");
    let mut args: Vec<std::ffi::OsString> = vec![
        script.into(),
        lake.into(),
        (from * 1000).to_string().into(),
        (to * 1000).to_string().into(),
        by.into(),
        filter.into(),
    ];
    if load_duration {
        args.push("--load-duration".into());
    }
    serde_json::from_str::<Value>(&gridwatch_tests::emulator_python(args))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn key_columns(by: &str) -> Vec<String> {
    let mut keys: Vec<String> = by
        .split(',')
        .filter(|k| !k.is_empty())
        .map(|k| match k {
            "region" => "Region".to_string(),
            "feeder" => "Feeder".to_string(),
            "type" => "DeviceType".to_string(),
            "device" => "device_id".to_string(),
            other => other.to_string(),
        })
        .collect();
    // Each device type is its own group by default (issue 15).
    if !keys.iter().any(|k| k == "DeviceType") {
        keys.push("DeviceType".into());
    }
    keys
}

fn assert_close(what: &str, a: &Value, b: &Value) {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => {
            let tol = 1e-9 * x.abs().max(y.abs()).max(1e-300);
            assert!((x - y).abs() <= tol, "{what}: gridwatch {x} vs duckdb {y}");
        }
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Equal row for row, numbers to 1e-9 relative (sums in another order may
/// differ in their last bits).
fn assert_rows_equal(a: &[Value], b: &[Value]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_object().unwrap(), y.as_object().unwrap());
        assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
        for (col, v) in x {
            assert_close(col, v, &y[col]);
        }
    }
}

fn assert_same(ours: &[Value], theirs: &[Value], by: &str) {
    let keys = key_columns(by);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert!(!ours.is_empty(), "no groups for --by {by}");
    if let Some(diff) = gridwatch_tests::answers_differ(ours, theirs, &keys) {
        panic!("--by {by}: gridwatch and duckdb differ: {diff}");
    }
}

#[test]
fn every_aggregate_equals_duckdb_on_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    simulate(&lake, &[]);
    add_counter_reset(&lake);
    // A range that cuts partitions in the middle, to exercise the time filter.
    let (from, to) = (
        START_MS + 3_600_000 * 5 + 123_000,
        START_MS + 2 * DAY_MS + 777_000,
    );
    for (by, filter) in [
        ("region,day", ""),
        ("", ""),
        ("device", ""),
        ("type,week", ""),
        ("feeder,month", ""),
        ("hour", "region=north"),
        ("day", "type=smart_meter"),
    ] {
        let ours = ours(&lake, from, to, by, filter, &[]);
        let theirs = duckdb(&lake, from, to, by, filter, false);
        assert_same(&ours, &theirs, by);
    }
    // The reset counter: 1.5 + 2.0 (reset: the new value) + 2.5 + 1.5 kWh.
    let reset = ours(&lake, START_MS, START_MS + 3 * DAY_MS, "device", "", &[])
        .into_iter()
        .find(|r| r["device_id"] == "reset-meter")
        .unwrap();
    assert_close(
        "reset meter energy",
        &reset["energy_kwh"],
        &serde_json::json!(7.5),
    );

    // Top consumers: the first rows of the device view, by energy.
    let top = ours(&lake, from, to, "device", "", &["--top", "5"]);
    let all = duckdb(&lake, from, to, "device", "", false);
    let mut energies: Vec<f64> = all
        .iter()
        .map(|r| r["energy_kwh"].as_f64().unwrap())
        .collect();
    energies.sort_by(|a, b| b.total_cmp(a));
    let got: Vec<f64> = top
        .iter()
        .map(|r| r["energy_kwh"].as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), 5);
    for (g, w) in got.iter().zip(&energies) {
        assert_close(
            "top consumer energy",
            &serde_json::json!(g),
            &serde_json::json!(w),
        );
    }

    // The load duration curve, interval by interval.
    let ldc = ours(&lake, from, to, "region", "", &["--load-duration"]);
    let theirs = duckdb(&lake, from, to, "region", "", true);
    assert_eq!(ldc.len(), theirs.len());
    for (a, b) in ldc.iter().zip(&theirs) {
        assert_eq!(a["Region"], b["Region"]);
        assert_close("demand", &a["demand_w"], &b["demand_w"]);
    }
}

#[test]
fn a_corrupt_file_outside_the_range_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    simulate(&lake, &[]);
    let (from, to) = (START_MS + DAY_MS, START_MS + 2 * DAY_MS);
    let before = ours(&lake, from, to, "region", "", &[]);
    // Garbage in an hour well before the range.
    let outside = lake.join("readings/json/year=2023/month=11/day=14/hour=23");
    std::fs::write(outside.join("garbage"), b"\x00\x01 not json at all {{{").unwrap();
    let out = gridwatch(
        &lake.join("unused.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--by",
            "region",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("garbage"));
    assert_rows_equal(
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap(),
        &before,
    );
    // Inside the range, a bad line is reported with its file and line, and
    // the rest is still counted.
    let inside = lake.join("readings/json/year=2023/month=11/day=16/hour=01");
    std::fs::write(inside.join("bad"), b"{\"Time\": 1}\n").unwrap();
    let out = gridwatch(
        &lake.join("unused.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--by",
            "region",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hour=01/bad:1: missing \"DeviceID\""), "{err}");
}

#[test]
fn back_to_back_gzip_and_parquet_extracts_give_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let b2b = dir.path().join("b2b");
    let gz = dir.path().join("gz");
    simulate(&plain, &[]);
    simulate(&b2b, &["--no-delimiter"]);
    simulate(&gz, &["--gzip"]);
    let sample = std::fs::read_dir(b2b.join("readings/json/year=2023/month=11/day=15/hour=00"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(std::fs::read_to_string(sample).unwrap().contains("}{"));
    let (from, to) = (START_MS, START_MS + 3 * DAY_MS);
    let want = ours(&plain, from, to, "region,day", "", &[]);
    assert_rows_equal(&ours(&b2b, from, to, "region,day", "", &[]), &want);
    assert_rows_equal(&ours(&gz, from, to, "region,day", "", &[]), &want);

    // Compaction: whole days become Parquet, their JSON goes, results stay.
    let out = gridwatch_ok(
        &plain.join("unused.sqlite"),
        &["lake", "compact", "--lake", plain.to_str().unwrap()],
    );
    assert!(out.contains("compacted 4 days"), "{out}");
    assert!(
        !plain
            .join("readings/json/year=2023/month=11/day=15")
            .exists()
    );
    assert!(
        plain
            .join("readings/parquet/year=2023/month=11/day=15/part-0.parquet")
            .exists()
    );
    assert_rows_equal(&ours(&plain, from, to, "region,day", "", &[]), &want);
}

/// The views with less memory than the readings take: the readings move to
/// buckets on disk, and every figure stays what it was.
#[test]
fn views_beyond_the_memory_budget_fold_from_disk_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    simulate(&lake, &[]);
    add_counter_reset(&lake);
    let (from, to) = (START_MS, START_MS + 3 * DAY_MS);
    let run = |by: &str, extra: &[&str]| {
        let args = aggregate_args(&lake, from, to, by, "", extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = gridwatch(&lake.join("unused.sqlite"), &args);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{said}");
        (rows_of(&String::from_utf8_lossy(&out.stdout)), said)
    };
    // 66 devices for three days are about 28,000 readings, 1.3 MiB.
    for (by, extra) in [
        ("region,day", &[][..]),
        ("device", &[][..]),
        ("", &[][..]),
        ("type,hour", &[][..]),
        // Meters are 60 of the 66 devices: still past 1 MiB.
        ("feeder,day", &["--where", "type=smart_meter"][..]),
        ("region", &["--load-duration"][..]),
    ] {
        let (in_memory, said) = run(by, extra);
        assert!(!said.contains("buckets on disk"), "{said}");
        let mut small = extra.to_vec();
        small.extend(["--memory-mb", "1"]);
        let (from_disk, said) = run(by, &small);
        assert!(
            said.contains("outgrew 1 MiB of memory: folded from"),
            "--by {by}: {said}"
        );
        assert!(!in_memory.is_empty());
        // Sums of the same demands in another order may differ in their
        // last bits, which can swap two intervals of equal demand: the
        // curve is its demands, so compare those.
        let curve = |rows: &[Value]| -> Vec<Value> {
            rows.iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.as_object_mut().unwrap().remove("interval");
                    r
                })
                .collect()
        };
        assert_rows_equal(&curve(&from_disk), &curve(&in_memory));
    }
    // The buckets go when the view is done.
    let left: Vec<_> = std::fs::read_dir(&lake)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".gridwatch-spill"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn athena_ddl_names_the_bucket_and_projects_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = gridwatch_ok(
        &dir.path().join("x"),
        &[
            "lake",
            "athena-ddl",
            "--bucket",
            "utility-lake",
            "--prefix",
            "firehose",
        ],
    );
    assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `gridwatch_readings`"));
    assert!(ddl.contains("s3://utility-lake/firehose/readings/json/year=${year}/month=${month}/day=${day}/hour=${hour}/"));
}

/// The files below `root` but hidden ones (in-flight writes), with their
/// bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    gridwatch_tests::files_under(root)
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(root.join(&p)).unwrap(),
            )
        })
        .collect()
}

fn sync_cmd(dest: &Path, moto: &gridwatch_tests::Moto, from: i64, to: i64) -> String {
    let out = Command::new(gridwatch_tests::gridwatch_bin())
        .args([
            "lake",
            "sync",
            "--bucket",
            "utility-lake",
            "--prefix",
            "firehose/",
            "--dir",
        ])
        .arg(dest)
        .args([
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--endpoint-url",
            &moto.endpoint(),
        ])
        .envs(gridwatch_tests::EMULATOR_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sync_from_s3_fetches_only_the_range_once_and_resumes() {
    let moto = gridwatch_tests::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    simulate(&source, &[]);
    let all = files_under(&source);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3();
        s3.create_bucket()
            .bucket("utility-lake")
            .send()
            .await
            .unwrap();
        for (rel, bytes) in &all {
            s3.put_object()
                .bucket("utility-lake")
                .key(format!("firehose/{rel}"))
                .body(bytes.clone().into())
                .send()
                .await
                .unwrap();
        }
    });
    // The second day only: 2023-11-15.
    let (from, to) = (
        1_699_999_200_000 + 3_600_000 * 2,
        1_699_999_200_000 + 3_600_000 * 26,
    );
    let want: BTreeMap<String, Vec<u8>> = all
        .iter()
        .filter(|(k, _)| k.contains("day=15/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    let dest = dir.path().join("dest");
    let out = sync_cmd(&dest, &moto, from, to);
    assert!(out.contains(&format!("{} downloaded", want.len())), "{out}");
    assert_eq!(
        files_under(&dest),
        want,
        "only the partitions in range, byte for byte"
    );

    let again = sync_cmd(&dest, &moto, from, to);
    assert!(
        again.contains(" 0 downloaded") && again.contains(&format!("{} already here", want.len())),
        "{again}"
    );

    // An interrupted run: some files never arrived, one only in part.
    let names: Vec<&String> = want.keys().collect();
    for n in &names[..3] {
        std::fs::remove_file(dest.join(n)).unwrap();
    }
    let half = dest.join(names[3]);
    std::fs::write(&half, &want[names[3]][..10]).unwrap();
    let resumed = sync_cmd(&dest, &moto, from, to);
    assert!(resumed.contains(" 4 downloaded"), "{resumed}");
    assert_eq!(files_under(&dest), want);
}

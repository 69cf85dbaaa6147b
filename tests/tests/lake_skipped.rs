//! `gridwatch aggregate` over a lake with bad files in range: the figures
//! are the good files', and each bad file is named with its reason.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;

use gridwatch_tests::{gridwatch, simulate_into_lake};
use serde_json::Value;

const START_MS: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z
const DAY_MS: i64 = 86_400_000;

fn aggregate(lake: &Path, extra: &[&str]) -> std::process::Output {
    let (from, to) = (START_MS.to_string(), (START_MS + 2 * DAY_MS).to_string());
    let mut args = vec![
        "aggregate",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        &from,
        "--to",
        &to,
        "--by",
        "region",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    gridwatch(&lake.join("unused.sqlite"), &args)
}

#[test]
fn bad_files_in_range_are_named_and_the_figures_are_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    simulate_into_lake(
        &lake,
        &[
            "--devices",
            "20",
            "--interval",
            "10m",
            "--days",
            "2",
            "--start",
            &START_MS.to_string(),
        ],
    );
    let before = aggregate(&lake, &[]);
    assert!(before.status.success());
    let want: Value = serde_json::from_slice(&before.stdout).unwrap();
    // No warnings; only the notes on how the figures were made (issue 15),
    // one JSON object a line with --format json.
    let said = String::from_utf8_lossy(&before.stderr);
    assert!(said.lines().all(|l| l.starts_with("{\"note\"")), "{said}");

    let hour = lake.join("readings/json/year=2023/month=11/day=15/hour=03");
    // A gzip bomb: 300 MB of zeros in about 300 KB.
    let bomb = std::process::Command::new("sh")
        .args(["-c", "head -c 314572800 /dev/zero | gzip -9"])
        .output()
        .unwrap()
        .stdout;
    assert!(bomb.len() < 400_000, "{}", bomb.len());
    let bomb_limit = bomb.len() as u64 * 100;
    std::fs::write(hour.join("bomb.gz"), &bomb).unwrap();
    std::fs::write(hour.join("truncated.gz"), &bomb[..1000]).unwrap();
    let pq = lake.join("readings/parquet/year=2023/month=11/day=16");
    std::fs::create_dir_all(&pq).unwrap();
    std::fs::write(pq.join("part-0.parquet"), b"not parquet").unwrap();
    let bad_hour = lake.join("readings/json/year=2023/month=11/day=15/hour=4294967295");
    std::fs::create_dir_all(&bad_hour).unwrap();

    // The Parquet stand-in hides day 16's JSON (no manifest: another
    // tool's file), so the figures to expect are those without that day.
    let out = aggregate(&lake, &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let warnings: Vec<Value> = err
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        // How the figures were made (issue 15), beside the warnings.
        .filter(|w| w.get("note").is_none())
        .collect();
    let named: Vec<(String, String)> = warnings
        .iter()
        .map(|w| {
            assert_eq!(w["warning"], "skipped");
            (
                w["path"].as_str().unwrap().to_owned(),
                w["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let path = |p: &Path| p.display().to_string();
    assert_eq!(named.len(), 4, "{named:?}");
    assert!(named.contains(&(
        path(&bad_hour),
        "partition \"hour=4294967295\": hour must be a number from 0 to 23".into()
    )));
    assert!(named.contains(&(
        path(&hour.join("bomb.gz")),
        format!("decompresses to more than {bomb_limit} bytes (a gzip bomb?)")
    )));
    assert!(
        named
            .iter()
            .any(|(p, _)| *p == path(&hour.join("truncated.gz")))
    );
    assert!(
        named
            .iter()
            .any(|(p, r)| *p == path(&pq.join("part-0.parquet"))
                && r.starts_with("not a readable Parquet file")),
        "{named:?}"
    );
    // The figures equal those of the clean lake without day 16.
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    std::fs::remove_file(pq.join("part-0.parquet")).unwrap();
    for f in ["bomb.gz", "truncated.gz"] {
        std::fs::remove_file(hour.join(f)).unwrap();
    }
    let day16_json = lake.join("readings/json/year=2023/month=11/day=16");
    let hidden = dir.path().join("day16");
    std::fs::rename(&day16_json, &hidden).unwrap();
    let clean: Value = serde_json::from_slice(&aggregate(&lake, &[]).stdout).unwrap();
    assert_same(&got, &clean);
    std::fs::rename(&hidden, &day16_json).unwrap();
    assert_same(
        &serde_json::from_slice::<Value>(&aggregate(&lake, &[]).stdout).unwrap(),
        &want,
    );
}

/// Equal, numbers to 1e-9 relative: sums of the same demands folded in
/// another order may differ in their last bits.
fn assert_same(a: &Value, b: &Value) {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{a} vs {b}");
            x.iter().zip(y).for_each(|(x, y)| assert_same(x, y));
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
            x.iter().for_each(|(k, v)| assert_same(v, &y[k]));
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(y.abs()), "{x} vs {y}");
        }
        _ => assert_eq!(a, b),
    }
}

//! Ctrl-C (SIGINT) and SIGTERM stop a CLI job cleanly: it keeps what it
//! made (readings committed, extracts flushed) and says what it did, as the
//! README promises. Each test sends the real signal to the real binary.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gridwatch_tests::{
    EMULATOR_ENV, FaultProxy, KillOnDrop, Kinesalite, Moto, cached_readings as readings,
    create_stream, files_under, gridwatch_bin, put_records, simulate_into_lake, wait_for,
};

fn signal(child: &KillOnDrop, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

/// Waits for the child to exit (a hang guard, not a timing claim) and
/// returns its stdout and stderr.
fn finish(mut child: KillOnDrop) -> (std::process::ExitStatus, String, String) {
    let status = wait_for(Duration::from_secs(60), "the job to stop", || {
        child.0.try_wait().unwrap()
    });
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

fn spawn(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(gridwatch_bin())
            .args(args)
            .envs(EMULATOR_ENV)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// A stream of `shards` on kinesalite holding `records` seed-format
/// records, the n-th from device `meter-{n % devices}`.
fn stream_of(kinesalite: &Kinesalite, name: &str, shards: i32, records: u64, devices: u64) {
    let items: Vec<(String, Vec<u8>)> = (0..records)
        .map(|n| {
            let device = format!("meter-{}", n % devices);
            let data = format!(
                r#"{{"Time": {}, "DeviceID": "{device}", "watt_measure": {n}}}"#,
                1_700_000_000_000u64 + n * 1000
            );
            (device, data.into_bytes())
        })
        .collect();
    let client = kinesalite.client();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            create_stream(&client, name, shards).await;
            put_records(&client, name, &items).await;
        });
}

/// The number after `label` in a summary line such as "12 records".
fn figure(text: &str, label: &str) -> i64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text:?}"));
    text[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no number before {label:?} in {text:?}"))
}

#[test]
fn sigterm_and_sigint_stop_an_embedded_simulation_with_every_reading_committed() {
    for sig in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("s.sqlite");
        let cache_arg = cache.to_str().unwrap();
        let child = spawn(&[
            "--cache",
            cache_arg,
            "simulate",
            "--devices",
            "20",
            "--interval",
            "200ms",
        ]);
        wait_for(Duration::from_secs(60), "readings in the cache", || {
            readings(&cache).filter(|n| *n > 100)
        });
        signal(&child, sig);
        let (status, out, err) = finish(child);
        assert!(status.success(), "SIG{sig}: {status}\n{err}");
        let new = figure(&out, "new readings");
        assert!(new > 100, "{out}");
        assert_eq!(readings(&cache), Some(new), "SIG{sig}: {out}");
    }
}

#[test]
fn a_signal_stops_a_lake_simulation_with_every_record_in_an_extract() {
    for sig in ["INT", "TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        // Ten years: far more than it writes before the signal.
        let child = spawn(&[
            "simulate",
            "--to",
            "lake",
            "--lake",
            lake.to_str().unwrap(),
            "--devices",
            "50",
            "--interval",
            "1s",
            "--days",
            "3650",
        ]);
        wait_for(Duration::from_secs(60), "a first extract", || {
            extract_lines(&lake).filter(|n| *n > 0)
        });
        signal(&child, sig);
        let (status, out, err) = finish(child);
        assert!(status.success(), "SIG{sig}: {status}\n{err}");
        let records = figure(&out, "records in");
        assert!(records > 0, "{out}");
        assert_eq!(extract_lines(&lake), Some(records), "SIG{sig}: {out}");
        assert!(!hidden_files(&lake), "no half-written extract stays behind");
    }
}

/// Records in the lake's JSON extracts: one a line.
fn extract_lines(lake: &Path) -> Option<i64> {
    let mut n = 0;
    let root = lake.join("readings/json");
    for file in files_under(&root) {
        let name = file.file_name()?.to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&file)).ok()?;
        n += text.lines().filter(|l| !l.trim().is_empty()).count() as i64;
    }
    Some(n)
}

fn hidden_files(lake: &Path) -> bool {
    files_under(&lake.join("readings")).iter().any(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    })
}

#[test]
fn sigterm_stops_ingest_with_every_record_read_committed_and_checkpointed() {
    let kinesalite = Kinesalite::start(None);
    let endpoint = kinesalite.endpoint();
    stream_of(&kinesalite, "stop", 2, 300, 10);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("i.sqlite");
    // Following, not --until-caught-up: only the signal ends it.
    let child = spawn(&[
        "--cache",
        cache.to_str().unwrap(),
        "ingest",
        "--stream",
        "stop",
        "--endpoint-url",
        &endpoint,
    ]);
    wait_for(Duration::from_secs(60), "all 300 readings", || {
        readings(&cache).filter(|n| *n == 300)
    });
    signal(&child, "TERM");
    let (status, out, err) = finish(child);
    assert!(status.success(), "{status}\n{err}");
    assert_eq!(figure(&out, "records from"), 300, "{out}");
    assert_eq!(readings(&cache), Some(300));
    // Every shard's checkpoint is its last record: a second run reads none.
    let again = Command::new(gridwatch_bin())
        .args([
            "--cache",
            cache.to_str().unwrap(),
            "ingest",
            "--stream",
            "stop",
        ])
        .args(["--endpoint-url", &endpoint, "--until-caught-up"])
        .envs(EMULATOR_ENV)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(figure(&out, "records from"), 0, "{out}");
}

/// (device, time, measure) of every Timestream record the proxy passed on
/// in WriteRecords calls answered without a fault.
fn written(proxy: &FaultProxy) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (op, body) in proxy.requests.lock().unwrap().iter() {
        if op != "WriteRecords" {
            continue;
        }
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        let common = &body["CommonAttributes"];
        for r in body["Records"].as_array().unwrap() {
            let field = |k: &str| {
                r.get(k)
                    .filter(|v| !v.is_null())
                    .or_else(|| common.get(k))
                    .cloned()
                    .unwrap_or_default()
            };
            let device = field("Dimensions")
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["Name"] == "DeviceID")
                .map(|d| d["Value"].as_str().unwrap().to_owned())
                .unwrap();
            out.push((
                device,
                field("Time").as_str().unwrap().to_owned(),
                field("MeasureName").as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn sigterm_stops_the_bridge_and_a_rerun_writes_each_reading_exactly_once() {
    let kinesalite = Kinesalite::start(None);
    let endpoint = kinesalite.endpoint();
    let records = 3_000u64;
    stream_of(&kinesalite, "bridged", 2, records, 30);
    let moto = Moto::start();
    moto.create_timestream_table("grid", "readings");
    // No faults: the proxy only records what reached Timestream.
    let proxy = FaultProxy::start(moto.port, std::sync::Arc::new(|_: &str, _: u64| None));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("bridge.sqlite");
    let bridge = |until_caught_up: bool| {
        let mut args = vec![
            "--cache",
            cache.to_str().unwrap(),
            "bridge",
            "--stream",
            "bridged",
            "--database",
            "grid",
            "--table",
            "readings",
            "--endpoint-url",
            &endpoint,
        ];
        let ts = proxy.endpoint();
        args.extend(["--timestream-endpoint-url", ts.as_str()]);
        if until_caught_up {
            args.push("--until-caught-up");
        }
        spawn(&args)
    };
    // Following: only the signal ends it, sent once writing has begun.
    let child = bridge(false);
    wait_for(Duration::from_secs(60), "the first WriteRecords", || {
        (!written(&proxy).is_empty()).then_some(())
    });
    signal(&child, "TERM");
    let (status, out, err) = finish(child);
    assert!(status.success(), "{status}\n{err}");
    let first = figure(&out, "readings from");
    let after_first = written(&proxy).len();
    // Every record bridged in the first run was written before it exited.
    assert_eq!(after_first as i64, first, "{out}");

    let (status, out, err) = finish(bridge(true));
    assert!(status.success(), "{status}\n{err}");
    let second = figure(&out, "readings from");
    assert_eq!(first + second, records as i64, "{out}");
    let mut all = written(&proxy);
    assert_eq!(all.len(), records as usize, "each reading written once");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), records as usize, "no reading written twice");
}

#[test]
fn sigint_stops_tail_after_what_it_printed() {
    let kinesalite = Kinesalite::start(None);
    let endpoint = kinesalite.endpoint();
    stream_of(&kinesalite, "tailed", 1, 40, 40);
    let out_file = tempfile::NamedTempFile::new().unwrap();
    let child = KillOnDrop(
        Command::new(gridwatch_bin())
            .args([
                "tail",
                "--stream",
                "tailed",
                "--from",
                "trim-horizon",
                "--format",
                "json",
            ])
            .args(["--endpoint-url", &endpoint])
            .envs(EMULATOR_ENV)
            .env_remove("RUST_LOG")
            .stdout(out_file.reopen().unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let printed = || {
        std::fs::read_to_string(out_file.path())
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    wait_for(Duration::from_secs(60), "all 40 records printed", || {
        (printed() == 40).then_some(())
    });
    signal(&child, "INT");
    let mut child = child;
    let status = wait_for(Duration::from_secs(60), "tail to stop", || {
        child.0.try_wait().unwrap()
    });
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(out_file.path()).unwrap();
    let devices: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["device_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(devices.len(), 40, "every line whole");
    assert_eq!(devices[0], "meter-0");
    assert_eq!(devices[39], "meter-39");
}

#[test]
fn sigint_stops_a_running_lake_sql_query_at_once_with_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // 20 devices at 1 s for 30 minutes: 36,000 records, one region.
    simulate_into_lake(
        &lake,
        &[
            "--devices",
            "20",
            "--interval",
            "1s",
            "--duration",
            "30m",
            "--fast",
            "--start",
            "2023-11-14T00:00:00Z",
        ],
    );
    // Every record joined with every other of its region: 1.3 billion
    // rows to count, far more than polars' streaming engine gets through
    // (in a debug build) in the two seconds before the signal, with only
    // 36,000 rows held. The answer must not come.
    let child = spawn(&[
        "lake",
        "sql",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        "2023-11-14T00:00:00Z",
        "--to",
        "2023-11-15T00:00:00Z",
        "--format",
        "json",
        "SELECT count(*) AS n FROM readings a JOIN readings b ON a.Region = b.Region",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    signal(&child, "INT");
    let (status, out, err) = finish(child);
    assert!(!status.success(), "a cancelled query fails: {out}");
    assert!(out.is_empty(), "no answer after a cancel: {out}");
    assert!(err.contains("stopped before the end"), "{err}");
}

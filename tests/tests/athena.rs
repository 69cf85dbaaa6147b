//! The strategic views on Athena (issue 18), against moto serving Athena,
//! Glue and S3 on loopback, with the SQL's meaning checked in DuckDB.
//!
//! moto runs no SQL: its GetQueryResults answers with results queued
//! through its own API. So each view's SQL, as Gridwatch sends it, is run
//! in DuckDB over the same extracts (`tests/scripts/athena_in_duckdb.py`:
//! a view standing in for the Glue table, one macro standing in for
//! Trino's `from_unixtime`), DuckDB's answer is queued in moto in
//! Athena's shape, and what `aggregate --engine athena` prints must equal
//! what the local engine prints over the same files, to 1e-9. A wrong SQL
//! gives DuckDB's wrong answer, and the comparison fails.
//!
//! A proxy between the CLI and moto logs every request (the SQL in
//! StartQueryExecution's body, StopQueryExecution on Ctrl-C), injects
//! throttling, and answers what moto cannot: a FAILED query, an answer in
//! pages, a first page with more to come (the rest then read from the
//! answer's file in moto's S3). Athena's CANCELLED state is tested on the
//! client's own rule (a unit test in `core/lake/src/athena/client.rs`).
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gridwatch_tests::{
    Fault, FaultProxy, KillOnDrop, Moto, answers_differ, emulator_python, simulate_into_lake,
    wait_for,
};
use serde_json::Value;

const BUCKET: &str = "utility-lake";
const PREFIX: &str = "telemetry";
// 2023-11-01T00:00:00Z: the lake holds 30 days from here.
const LAKE_START_MS: i64 = 1_698_796_800_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
// The views ask for two days in the middle: 2023-11-14 and -15.
const FROM_MS: i64 = LAKE_START_MS + 13 * DAY_MS;
const TO_MS: i64 = FROM_MS + 2 * DAY_MS;

/// A lake of 30 days on disk and the same files in moto's S3.
struct Lake {
    dir: tempfile::TempDir,
    moto: Moto,
}

impl Lake {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("lake")
    }
}

fn lake(extra: &[&str]) -> Lake {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lake");
    let start = LAKE_START_MS.to_string();
    let mut args = vec!["--interval", "1h", "--days", "30", "--start", &start];
    args.extend_from_slice(extra);
    simulate_into_lake(&path, &args);
    let moto = Moto::start();
    emulator_python([
        "-c",
        "import boto3, os, sys\n\
         endpoint, bucket, prefix, root = sys.argv[1:5]\n\
         s3 = boto3.client('s3', endpoint_url=endpoint)\n\
         s3.create_bucket(Bucket=bucket)\n\
         for d, _, files in os.walk(os.path.join(root, 'readings')):\n\
         \x20   for f in files:\n\
         \x20       p = os.path.join(d, f)\n\
         \x20       s3.upload_file(p, bucket, prefix + '/' + os.path.relpath(p, root))\n",
        &moto.endpoint(),
        BUCKET,
        PREFIX,
        path.to_str().unwrap(),
    ]);
    Lake { dir, moto }
}

/// `gridwatch` against `endpoint` (moto, or the proxy before it).
fn cli(endpoint: &str, cache: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(gridwatch_tests::gridwatch_bin());
    c.arg("--cache")
        .arg(cache)
        .args(args)
        .env("GRIDWATCH_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "gridwatch-test")
        .env("AWS_SECRET_ACCESS_KEY", "gridwatch-test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG");
    c
}

fn run_ok(endpoint: &str, cache: &Path, args: &[&str]) -> (String, String) {
    let out = cli(endpoint, cache, args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "gridwatch {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn setup(lake: &Lake, cache: &Path) -> String {
    run_ok(
        &lake.moto.endpoint(),
        cache,
        &[
            "lake",
            "athena-setup",
            "--bucket",
            BUCKET,
            "--prefix",
            PREFIX,
        ],
    )
    .0
}

fn range() -> Vec<String> {
    vec![
        "--from".into(),
        FROM_MS.to_string(),
        "--to".into(),
        TO_MS.to_string(),
    ]
}

/// `aggregate --engine athena --explain --format json` with `view`.
fn explain(endpoint: &str, cache: &Path, view: &[&str]) -> Value {
    let mut args: Vec<String> = vec![
        "aggregate".into(),
        "--engine".into(),
        "athena".into(),
        "--explain".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(range());
    args.extend(view.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(&run_ok(endpoint, cache, &argv).0).unwrap()
}

/// Athena's answer to `sql` over the lake, computed by DuckDB.
fn duckdb_answer(lake: &Path, sql: &str) -> Value {
    let script = gridwatch_tests::emulators_dir().join("../scripts/athena_in_duckdb.py");
    let mut child = gridwatch_tests::emulator_python_command()
        .arg(script)
        .args([lake.to_str().unwrap(), "gridwatch", "gridwatch_readings"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "DuckDB refused the SQL:\n{}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn logging_proxy(moto: &Moto) -> FaultProxy {
    FaultProxy::start(moto.port, Arc::new(|_: &str, _: u64| None))
}

/// The bodies of the requests of `op` the proxy saw.
fn bodies(proxy: &FaultProxy, op: &str) -> Vec<Value> {
    proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(o, _)| o == op)
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect()
}

/// The local engine's answer to the same view.
fn local(lake: &Path, cache: &Path, view: &[&str]) -> Vec<Value> {
    let mut args: Vec<String> = vec![
        "aggregate".into(),
        "--lake".into(),
        lake.to_str().unwrap().into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(range());
    args.extend(view.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = gridwatch_tests::gridwatch_ok(cache, &argv);
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// One view through Athena (moto answering with DuckDB's answer to the SQL
/// Gridwatch sent) against the local engine.
fn check_view(lake: &Lake, proxy: &FaultProxy, cache: &Path, view: &[&str], keys: &[&str]) {
    let plan = explain(&proxy.endpoint(), cache, view);
    let sql = plan["sql"].as_str().unwrap();
    lake.moto
        .queue_athena_result(&duckdb_answer(&lake.path(), sql));
    let mut args = vec!["aggregate", "--engine", "athena", "--format", "json"];
    let r = range();
    args.extend(r.iter().map(String::as_str));
    args.extend_from_slice(view);
    let (stdout, stderr) = run_ok(&proxy.endpoint(), cache, &args);
    let athena: Vec<Value> = serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let sent = bodies(proxy, "StartQueryExecution");
    assert_eq!(
        sent.last().unwrap()["QueryString"].as_str(),
        Some(sql),
        "the SQL sent is the SQL explained"
    );
    assert_eq!(
        sent.last().unwrap()["QueryExecutionContext"]["Database"],
        "gridwatch"
    );
    assert!(stderr.contains("Athena will scan about"), "{stderr}");
    let ours = local(&lake.path(), cache, view);
    assert!(!ours.is_empty(), "the view {view:?} has rows");
    if let Some(d) = answers_differ(&athena, &ours, keys) {
        panic!("{view:?} on Athena differs from the local engine: {d}\nSQL:\n{sql}");
    }
}

#[test]
fn every_view_on_athena_equals_the_local_engine() {
    let lake = lake(&["--devices", "10", "--feeders", "1", "--transformers", "2"]);
    let cache = lake.dir.path().join("cache.sqlite");
    let made = setup(&lake, &cache);
    assert!(
        made.contains("created table gridwatch.gridwatch_readings"),
        "{made}"
    );
    let proxy = logging_proxy(&lake.moto);
    let t = ["DeviceType"];
    check_view(&lake, &proxy, &cache, &[], &t);
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--by", "feeder,hour"],
        &["Feeder", "DeviceType", "hour"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--by", "device", "--top", "4"],
        &["device_id", "DeviceType"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--by", "region", "--load-duration"],
        &["Region", "DeviceType", "interval"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--by", "region,month", "--measure", "voltage,watt"],
        &["Region", "DeviceType", "month"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--all-types", "--by", "week"],
        &["week"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--where", "type=transformer", "--by", "Transformer,day"],
        &["Transformer", "day"],
    );
}

#[test]
fn energy_from_power_on_athena_equals_the_local_engine() {
    // The seed producer's records: no energy counter, no DeviceType.
    let lake = lake(&["--shape", "seed", "--devices", "6"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let proxy = logging_proxy(&lake.moto);
    // The table always has DeviceType (null here): the view's groups
    // carry it, as the local engine's do not, so --all-types compares
    // like with like.
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--all-types", "--by", "device"],
        &["device_id"],
    );
    check_view(
        &lake,
        &proxy,
        &cache,
        &["--all-types", "--by", "hour", "--max-gap", "30m"],
        &["hour"],
    );
}

#[test]
fn the_partitions_read_are_exactly_the_ranges() {
    let lake = lake(&["--devices", "4", "--feeders", "1", "--transformers", "1"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let endpoint = lake.moto.endpoint();
    // Two whole days, and 49 hours from 10:00 (three partial days).
    for (from, to) in [
        (FROM_MS, TO_MS),
        (FROM_MS + 10 * HOUR_MS, FROM_MS + 59 * HOUR_MS),
    ] {
        let mut args = vec![
            "aggregate".to_string(),
            "--engine".into(),
            "athena".into(),
            "--explain".into(),
            "--format".into(),
            "json".into(),
            "--from".into(),
            from.to_string(),
            "--to".into(),
            to.to_string(),
        ];
        let argv: Vec<&str> = args.iter_mut().map(|s| s.as_str()).collect();
        let plan: Value = serde_json::from_str(&run_ok(&endpoint, &cache, &argv).0).unwrap();
        let expected: Vec<String> = (from..to)
            .step_by(HOUR_MS as usize)
            .map(|ms| {
                let c = gridwatch_types::time::civil(ms * 1000);
                format!(
                    "year={:04}/month={:02}/day={:02}/hour={:02}",
                    c.year, c.month, c.day, c.hour
                )
            })
            .collect();
        // The partition predicate, run by DuckDB over every partition of
        // the 30 days, selects exactly the range's hours.
        let filter = plan["partition_filter"].as_str().unwrap();
        let answer = duckdb_answer(
            &lake.path(),
            &format!(
                "SELECT DISTINCT \"year\", \"month\", \"day\", \"hour\" FROM \"gridwatch\".\"gridwatch_readings\" \
                 WHERE {filter} ORDER BY 1, 2, 3, 4"
            ),
        );
        let selected: Vec<String> = answer["ResultSet"]["Rows"].as_array().unwrap()[1..]
            .iter()
            .map(|r| {
                let v: Vec<&str> = r["Data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["VarCharValue"].as_str().unwrap())
                    .collect();
                format!("year={}/month={}/day={}/hour={}", v[0], v[1], v[2], v[3])
            })
            .collect();
        assert_eq!(selected, expected, "partitions selected by {filter}");
        let listed: Vec<String> = plan["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, expected);
        // The estimate is the bytes of exactly those partitions' files.
        let bytes: u64 = expected
            .iter()
            .flat_map(|p| std::fs::read_dir(lake.path().join("readings/json").join(p)).unwrap())
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(plan["estimate"]["bytes"], bytes);
        assert_eq!(plan["estimate"]["partitions"], expected.len());
    }
}

#[test]
fn a_query_over_its_scan_limit_is_not_started() {
    let lake = lake(&["--devices", "4", "--feeders", "1", "--transformers", "1"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let proxy = logging_proxy(&lake.moto);
    let mut args = vec![
        "aggregate",
        "--engine",
        "athena",
        "--max-scan-bytes",
        "10KB",
    ];
    let r = range();
    args.extend(r.iter().map(String::as_str));
    let out = cli(&proxy.endpoint(), &cache, &args).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not run: the query would scan")
            && stderr.contains("over the limit of 10 kB"),
        "{stderr}"
    );
    assert!(
        bodies(&proxy, "StartQueryExecution").is_empty(),
        "nothing was started"
    );
    // SQL without $__timeFilter: the estimate is the whole table's.
    let json = lake.path().join("readings/json");
    let whole: u64 = gridwatch_tests::files_under(&json)
        .iter()
        .map(|f| std::fs::metadata(json.join(f)).unwrap().len())
        .sum();
    let sql = "SELECT count(*) FROM $__table";
    let mut args = vec![
        "lake",
        "sql",
        sql,
        "--engine",
        "athena",
        "--max-scan-bytes",
        "10KB",
    ];
    args.extend(r.iter().map(String::as_str));
    let out = cli(&proxy.endpoint(), &cache, &args).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "not run: the query would scan {}",
            gridwatch_types::bytes_text(whole)
        )),
        "{stderr}"
    );
}

#[test]
fn throttling_is_retried_and_an_answer_comes_back_offline() {
    let lake = lake(&["--devices", "4", "--feeders", "1", "--transformers", "1"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let proxy = FaultProxy::start(
        lake.moto.port,
        Arc::new(|op: &str, n: u64| match (op, n) {
            ("StartQueryExecution", 1) => Fault::new("ThrottlingException"),
            ("GetQueryExecution", 1) => Fault::new("TooManyRequestsException"),
            _ => None,
        }),
    );
    let plan = explain(&proxy.endpoint(), &cache, &[]);
    lake.moto
        .queue_athena_result(&duckdb_answer(&lake.path(), plan["sql"].as_str().unwrap()));
    let mut args = vec!["aggregate", "--engine", "athena", "--format", "csv"];
    let r = range();
    args.extend(r.iter().map(String::as_str));
    let (online, _) = run_ok(&proxy.endpoint(), &cache, &args);
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        bodies(&proxy, "StartQueryExecution").len(),
        2,
        "sent again once"
    );
    // Athena unreachable (nothing listens there): the cached answer, said.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let (offline, stderr) = run_ok(&gone, &cache, &args);
    assert_eq!(offline, online, "the same rows, from the cache");
    assert!(
        stderr.contains("Athena is unreachable; showing the CACHED answer fetched at"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_stops_the_query_in_athena() {
    let lake = lake(&["--devices", "2", "--feeders", "1", "--transformers", "1"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    // The query stays QUEUED: moto advances it only after 10,000 polls.
    lake.moto.post(
        "/moto-api/state-manager/set-transition",
        &serde_json::json!({
            "model_name": "athena::execution",
            "transition": {"progression": "manual", "times": 10000}
        }),
    );
    let proxy = logging_proxy(&lake.moto);
    let mut args = vec!["aggregate", "--engine", "athena"];
    let r = range();
    args.extend(r.iter().map(String::as_str));
    let mut child = KillOnDrop(
        cli(&proxy.endpoint(), &cache, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(60), "the query is being polled", || {
        (bodies(&proxy, "GetQueryExecution").len() >= 2).then_some(())
    });
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    use std::io::Read;
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!child.0.wait().unwrap().success());
    let id = bodies(&proxy, "GetQueryExecution")[0]["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stderr.contains(&format!(
            "stopped before the end: query {id} was stopped in Athena"
        )),
        "{stderr}"
    );
    let stops = bodies(&proxy, "StopQueryExecution");
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["QueryExecutionId"], id.as_str());
    // The query's state in moto, asked directly (boto3 1.44's Athena
    // client and moto 5.2 disagree on the request's path); moto routes an
    // unsigned request by the service its Authorization header names.
    let state = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-H",
            "X-Amz-Target: AmazonAthena.GetQueryExecution",
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=gridwatch-test/20231114/us-east-1/athena/aws4_request, SignedHeaders=host, Signature=0",
            "-H",
            "Content-Type: application/x-amz-json-1.1",
            "--data",
        ])
        .arg(serde_json::json!({ "QueryExecutionId": id }).to_string())
        .arg(format!("{}/", lake.moto.endpoint()))
        .output()
        .unwrap();
    let state: Value = serde_json::from_slice(&state.stdout).unwrap();
    assert_eq!(state["QueryExecution"]["Status"]["State"], "CANCELLED");
}

#[test]
fn setup_makes_the_projected_table_and_names_what_differs() {
    let lake = lake(&["--devices", "2", "--feeders", "1", "--transformers", "1"]);
    let cache = lake.dir.path().join("cache.sqlite");
    let made = setup(&lake, &cache);
    assert_eq!(
        made,
        "created database gridwatch\ncreated table gridwatch.gridwatch_readings over \
         s3://utility-lake/telemetry/readings/json/ (partition projection: no crawler needed)\n"
    );
    assert_eq!(
        setup(&lake, &cache),
        "table gridwatch.gridwatch_readings is there and matches the lake's layout\n"
    );
    // The table as Glue keeps it (read with boto3, not Gridwatch).
    let table: Value = serde_json::from_str(&emulator_python([
        "-c",
        "import boto3, json, sys; g = boto3.client('glue', endpoint_url=sys.argv[1]); \
         t = g.get_table(DatabaseName='gridwatch', Name='gridwatch_readings')['Table']; \
         print(json.dumps({'columns': [[c['Name'], c['Type']] for c in t['StorageDescriptor']['Columns']], \
         'keys': [c['Name'] for c in t['PartitionKeys']], 'location': t['StorageDescriptor']['Location'], \
         'params': t['Parameters'], 'serde': t['StorageDescriptor']['SerdeInfo']['SerializationLibrary']}))",
        &lake.moto.endpoint(),
    ]))
    .unwrap();
    assert_eq!(
        table["keys"],
        serde_json::json!(["year", "month", "day", "hour"])
    );
    assert_eq!(table["columns"][0], serde_json::json!(["time", "double"]));
    assert!(
        table["columns"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["voltage_measure", "double"]))
    );
    assert!(
        table["columns"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["transformer", "string"]))
    );
    assert_eq!(table["serde"], "org.openx.data.jsonserde.JsonSerDe");
    assert_eq!(table["params"]["projection.enabled"], "true");
    assert_eq!(table["params"]["projection.hour.digits"], "2");
    assert_eq!(
        table["params"]["storage.location.template"],
        "s3://utility-lake/telemetry/readings/json/year=${year}/month=${month}/day=${day}/hour=${hour}/"
    );
    // Another lake's prefix: the same table differs, nothing is changed.
    let out = cli(
        &lake.moto.endpoint(),
        &cache,
        &[
            "lake",
            "athena-setup",
            "--bucket",
            BUCKET,
            "--prefix",
            "elsewhere",
        ],
    )
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "location is \"s3://utility-lake/telemetry/readings/json/\", the lake is at \
             \"s3://utility-lake/elsewhere/readings/json/\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("differs from the lake's layout in 2 ways"),
        "{stderr}"
    );
}

#[test]
fn ad_hoc_sql_on_athena_gets_the_ranges_macros_and_typed_rows() {
    let lake = lake(&["--devices", "6", "--feeders", "1", "--transformers", "2"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let proxy = logging_proxy(&lake.moto);
    let sql = "SELECT \"devicetype\", count(*) AS readings, max(\"voltage_measure\") AS vmax \
               FROM $__table WHERE $__timeFilter GROUP BY \"devicetype\" ORDER BY 1";
    let mut args = vec!["lake", "sql", sql, "--engine", "athena", "--explain"];
    let r = range();
    args.extend(r.iter().map(String::as_str));
    let (expanded, _) = run_ok(&proxy.endpoint(), &cache, &args);
    let expanded = expanded.trim().trim_end_matches(';').to_string();
    assert!(
        expanded.contains(
            "FROM \"gridwatch\".\"gridwatch_readings\" WHERE (((\"year\" = '2023' AND \"month\" = '11' \
             AND \"day\" = '14')\n    OR (\"year\" = '2023' AND \"month\" = '11' AND \"day\" = '15'))"
        ),
        "{expanded}"
    );
    assert!(
        expanded.contains(&format!("\"time\" >= {FROM_MS} AND \"time\" < {TO_MS})")),
        "{expanded}"
    );
    lake.moto
        .queue_athena_result(&duckdb_answer(&lake.path(), &expanded));
    args.retain(|a| *a != "--explain");
    args.extend(["--format", "json"]);
    let (stdout, _) = run_ok(&proxy.endpoint(), &cache, &args);
    assert_eq!(
        bodies(&proxy, "StartQueryExecution").last().unwrap()["QueryString"].as_str(),
        Some(expanded.as_str())
    );
    let athena: Value = serde_json::from_str(&stdout).unwrap();
    // The same counts from the local engine's SQL over the same range.
    let local_sql = "SELECT DeviceType, count(*) AS readings, max(voltage_measure) AS vmax \
                     FROM readings GROUP BY DeviceType ORDER BY DeviceType";
    let lake_path = lake.path();
    let lake_arg = lake_path.to_str().unwrap();
    let mut local_args = vec![
        "lake", "sql", local_sql, "--lake", lake_arg, "--format", "json",
    ];
    local_args.extend(r.iter().map(String::as_str));
    let local: Value =
        serde_json::from_str(&gridwatch_tests::gridwatch_ok(&cache, &local_args)).unwrap();
    let rows = athena.as_array().unwrap();
    assert_eq!(rows.len(), 3, "feeder, transformer, meter: {athena}");
    for (a, l) in rows.iter().zip(local.as_array().unwrap()) {
        assert_eq!(a["devicetype"], l["DeviceType"]);
        assert_eq!(
            a["readings"].as_f64(),
            l["readings"].as_f64(),
            "counts are numbers"
        );
        assert_eq!(a["vmax"].as_f64(), l["vmax"].as_f64());
    }
}

/// The requests of `op` the proxy saw (S3's too, which have no JSON body).
fn count(proxy: &FaultProxy, op: &str) -> usize {
    proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(o, _)| o == op)
        .count()
}

#[test]
fn a_failed_query_says_why_and_long_answers_come_by_file_or_page() {
    let lake = lake(&["--devices", "10", "--feeders", "1", "--transformers", "2"]);
    let cache = lake.dir.path().join("cache.sqlite");
    setup(&lake, &cache);
    let r = range();

    // FAILED, with Athena's reason: moto's queries always succeed, so the
    // proxy answers the first poll as Athena answers a query that failed.
    let reason = "COLUMN_NOT_FOUND: line 12:5: Column 'voltage_measure' cannot be resolved";
    let failed = format!(
        r#"{{"QueryExecution":{{"QueryExecutionId":"q","Status":{{"State":"FAILED","StateChangeReason":"{reason}"}}}}}}"#
    );
    let proxy = FaultProxy::start(
        lake.moto.port,
        Arc::new(move |op: &str, n: u64| match (op, n) {
            ("GetQueryExecution", 1) => Fault::answer(failed.clone()),
            _ => None,
        }),
    );
    let mut args = vec!["aggregate", "--engine", "athena"];
    args.extend(r.iter().map(String::as_str));
    let out = cli(&proxy.endpoint(), &cache, &args).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("the query failed in Athena ("), "{stderr}");
    assert!(stderr.contains(&format!("): {reason}")), "{stderr}");

    // More than a page: the rest is read from the CSV Athena wrote (moto
    // writes the queued answer there), not page by page. The proxy says
    // there is a next page, as Athena does past 1,000 rows.
    let view = ["--by", "device,hour"];
    let plan = explain(&lake.moto.endpoint(), &cache, &view);
    let answer = duckdb_answer(&lake.path(), plan["sql"].as_str().unwrap());
    lake.moto.queue_athena_result(&answer);
    let first_page = serde_json::json!({
        "ResultSet": {
            "Rows": [answer["ResultSet"]["Rows"][0]],
            "ResultSetMetadata": answer["ResultSet"]["ResultSetMetadata"],
        },
        "NextToken": "more",
    })
    .to_string();
    let proxy = FaultProxy::start(
        lake.moto.port,
        Arc::new(move |op: &str, n: u64| match (op, n) {
            ("GetQueryResults", 1) => Fault::answer(first_page.clone()),
            _ => None,
        }),
    );
    let mut args = vec![
        "aggregate",
        "--engine",
        "athena",
        "--format",
        "json",
        "--athena-output",
        "s3://utility-lake/results/",
    ];
    args.extend(r.iter().map(String::as_str));
    args.extend_from_slice(&view);
    let (stdout, _) = run_ok(&proxy.endpoint(), &cache, &args);
    assert_eq!(count(&proxy, "GetQueryResults"), 1, "one page asked for");
    assert_eq!(count(&proxy, "GetObject"), 1, "then the answer's file");
    let athena: Vec<Value> = serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let rows = answer["ResultSet"]["Rows"].as_array().unwrap().len() - 1;
    assert_eq!(athena.len(), rows);
    assert!(rows > 400, "{rows} rows: 13 devices × 48 hours");
    let ours = local(&lake.path(), &cache, &view);
    let keys = ["device_id", "DeviceType", "hour"];
    if let Some(d) = answers_differ(&athena, &ours, &keys) {
        panic!("the answer read from its file differs from the local engine: {d}");
    }

    // With no output location to read, page after page: the proxy splits
    // DuckDB's answer in two pages as Athena would (moto gives one).
    let all = answer["ResultSet"]["Rows"].as_array().unwrap().clone();
    let half = all.len() / 2;
    let pages = [
        serde_json::json!({
            "ResultSet": {
                "Rows": all[..half],
                "ResultSetMetadata": answer["ResultSet"]["ResultSetMetadata"],
            },
            "NextToken": "second",
        }),
        serde_json::json!({
            "ResultSet": {
                "Rows": all[half..],
                "ResultSetMetadata": answer["ResultSet"]["ResultSetMetadata"],
            },
        }),
    ]
    .map(|p| p.to_string());
    let proxy = FaultProxy::start(
        lake.moto.port,
        Arc::new(move |op: &str, n: u64| match (op, n) {
            ("GetQueryResults", 1) => Fault::answer(pages[0].clone()),
            ("GetQueryResults", 2) => Fault::answer(pages[1].clone()),
            _ => None,
        }),
    );
    let mut args = vec!["aggregate", "--engine", "athena", "--format", "json"];
    args.extend(r.iter().map(String::as_str));
    args.extend_from_slice(&view);
    let (stdout, _) = run_ok(&proxy.endpoint(), &cache, &args);
    let asked = bodies(&proxy, "GetQueryResults");
    assert_eq!(asked.len(), 2, "two pages");
    assert_eq!(asked[1]["NextToken"], "second");
    let paged: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    if let Some(d) = answers_differ(&paged, &ours, &keys) {
        panic!("the paged answer differs from the local engine: {d}");
    }
}

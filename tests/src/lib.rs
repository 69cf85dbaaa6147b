//! Helpers for Gridwatch's end-to-end tests: the app binary, scratch caches,
//! and an X server for the window.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `gridwatch` binary built beside this test (`cargo build -p gridwatch`,
/// which `./dev.sh test` runs first), or `GRIDWATCH_BIN`.
pub fn gridwatch_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GRIDWATCH_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test> -> target/<profile>/gridwatch
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let mut bin = profile_dir.join("gridwatch");
    // Benches run from target/release; the app is usually the debug build.
    if !bin.exists()
        && let Some(debug) = profile_dir
            .parent()
            .map(|t| t.join("debug").join("gridwatch"))
        && debug.exists()
    {
        bin = debug;
    }
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p gridwatch` (./dev.sh test does)",
        bin.display()
    );
    bin
}

/// `gridwatch --cache <cache> <args…>`, run to completion.
pub fn gridwatch(cache: &Path, args: &[&str]) -> Output {
    Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(cache)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("gridwatch runs")
}

/// Like [`gridwatch`], but the run must succeed; returns stdout.
pub fn gridwatch_ok(cache: &Path, args: &[&str]) -> String {
    let out = gridwatch(cache, args);
    assert!(
        out.status.success(),
        "gridwatch {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

/// `gridwatch simulate --to lake --lake LAKE ARGS…`, which must succeed
/// (a cache beside the lake, never used by it); returns stdout.
pub fn simulate_into_lake(lake: &Path, args: &[&str]) -> String {
    let lake_arg = lake.to_str().expect("a UTF-8 temporary path");
    let mut all = vec!["simulate", "--to", "lake", "--lake", lake_arg];
    all.extend_from_slice(args);
    let cache = lake.with_extension("unused.sqlite");
    gridwatch_ok(&cache, &all)
}

/// Polls `check` every 100 ms until it returns Some, or panics after
/// `limit` with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process that is killed when dropped, so a failing test leaves nothing
/// running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An Xvfb server on a free display, for the app's window.
pub struct Xvfb {
    pub display: String,
    _process: KillOnDrop,
}

impl Xvfb {
    /// Starts Xvfb; fails the test (never skips it) when Xvfb is missing.
    pub fn start() -> Xvfb {
        let which = Command::new("sh").args(["-c", "command -v Xvfb"]).output();
        assert!(
            which.is_ok_and(|o| o.status.success()),
            "Xvfb is not installed: `./dev.sh setup` installs it (package xvfb)"
        );
        // Xvfb picks a free display itself and writes its number once it
        // accepts clients (-displayfd): no race between tests for a number.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let stdout = child.stdout.take().expect("Xvfb's stdout is piped");
        let process = KillOnDrop(child);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("Xvfb says its display");
        let n: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not start: {line:?}"));
        Xvfb {
            display: format!(":{n}"),
            _process: process,
        }
    }
}

/// Environment for child processes that talk to an emulator: dummy static
/// credentials through the default chain, never a real account.
pub const EMULATOR_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "gridwatch-test"),
    ("AWS_SECRET_ACCESS_KEY", "gridwatch-test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

/// Where the emulators' npm and Python packages live (`./dev.sh setup`).
pub fn emulators_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("emulators")
}

/// The emulators' Python (boto3, moto and DuckDB, from `./dev.sh setup`)
/// with their dummy credentials, ready for arguments.
pub fn emulator_python_command() -> Command {
    let python = emulators_dir().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the emulators' Python is not installed: run `./dev.sh setup`"
    );
    let mut command = Command::new(python);
    command.envs(EMULATOR_ENV);
    command
}

/// A Python script kept running between questions, so a benchmark times
/// a warm process on each side: every line sent makes it answer once with
/// `SECONDS\tJSON` (the time it measured itself, and its answer).
pub struct WarmPython {
    child: std::process::Child,
    answers: std::io::BufReader<std::process::ChildStdout>,
}

impl WarmPython {
    pub fn spawn<I, S>(args: I) -> WarmPython
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut child = emulator_python_command()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the emulators' Python runs");
        let answers = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        WarmPython { child, answers }
    }

    /// One answer: the time the script measured and what it printed.
    pub fn ask(&mut self) -> (Duration, serde_json::Value) {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        stdin
            .write_all(b"go\n")
            .expect("the script reads its questions");
        stdin.flush().expect("the script reads its questions");
        let mut line = String::new();
        self.answers
            .read_line(&mut line)
            .expect("the script answers");
        let (seconds, json) = line
            .trim_end()
            .split_once('\t')
            .unwrap_or_else(|| panic!("the script failed: {line:?}"));
        (
            Duration::from_secs_f64(seconds.parse().expect("seconds")),
            serde_json::from_str(json).expect("a JSON answer"),
        )
    }
}

impl Drop for WarmPython {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first difference between two answers given as JSON rows (objects)
/// whose groups the `keys` columns name: the same groups, the same
/// columns, numbers equal to 1e-9 relative (sums taken in another order
/// differ in their last bits), text equal. None when they agree.
pub fn answers_differ(
    ours: &[serde_json::Value],
    theirs: &[serde_json::Value],
    keys: &[&str],
) -> Option<String> {
    use std::collections::BTreeMap;
    type Row = serde_json::Map<String, serde_json::Value>;
    fn keyed<'a>(rows: &'a [serde_json::Value], keys: &[&str]) -> BTreeMap<String, &'a Row> {
        rows.iter()
            .filter_map(serde_json::Value::as_object)
            .map(|r| {
                let key: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{k}={}", r.get(*k).unwrap_or(&serde_json::Value::Null)))
                    .collect();
                (key.join(" "), r)
            })
            .collect()
    }
    let (a, b) = (keyed(ours, keys), keyed(theirs, keys));
    if a.len() != ours.len() || b.len() != theirs.len() {
        return Some("a group appears twice".into());
    }
    if !a.keys().eq(b.keys()) {
        return Some(format!(
            "groups differ: {:?} vs {:?}",
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>()
        ));
    }
    for (key, row) in &a {
        let other = b[key];
        let sorted = |r: &Row| {
            let mut k: Vec<String> = r.keys().cloned().collect();
            k.sort();
            k
        };
        if sorted(row) != sorted(other) {
            return Some(format!(
                "{key}: columns {:?} vs {:?}",
                row.keys(),
                other.keys()
            ));
        }
        for (col, x) in row.iter() {
            let y = &other[col];
            let same = match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300),
                _ => x == y,
            };
            if !same {
                return Some(format!("{key} {col}: ours {x} vs theirs {y}"));
            }
        }
    }
    None
}

/// Runs the emulators' Python (boto3, moto and DuckDB, from `./dev.sh
/// setup`) with `args` and the emulators' dummy credentials; fails the test
/// with its stderr unless it succeeds. Returns what it printed.
pub fn emulator_python<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = emulator_python_command()
        .args(args)
        .output()
        .expect("the emulators' Python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("Python prints UTF-8")
}

/// kinesalite on a free 127.0.0.1 port, in memory or on a data folder.
pub struct Kinesalite {
    pub port: u16,
    data: Option<PathBuf>,
    process: Option<KillOnDrop>,
}

impl Kinesalite {
    /// Starts kinesalite; fails the test (never skips it) when it is missing.
    pub fn start(data: Option<&Path>) -> Kinesalite {
        let mut k = Kinesalite {
            port: 0,
            data: data.map(Path::to_owned),
            process: None,
        };
        k.launch();
        k
    }

    fn launch(&mut self) {
        let dir = emulators_dir();
        assert!(
            dir.join("node_modules/kinesalite").exists(),
            "kinesalite is not installed in {}: run `./dev.sh setup`",
            dir.display()
        );
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("kinesalite.js"))
            .arg(self.port.to_string());
        if let Some(d) = &self.data {
            cmd.arg(d);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (package nodejs)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("kinesalite prints its port");
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("kinesalite did not start: {line:?}"));
        self.port = port;
        self.process = Some(KillOnDrop(child));
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server (its data folder stays).
    pub fn stop(&mut self) {
        self.process.take();
    }

    /// Starts it again on the same port and data folder.
    pub fn restart(&mut self) {
        self.stop();
        // The port was ours a moment ago; retry briefly while it is released.
        self.launch();
    }

    pub fn client(&self) -> aws_sdk_kinesis::Client {
        kinesis_client(&self.endpoint())
    }
}

/// A Kinesis client for an emulator at `endpoint`, with dummy credentials
/// and, like the product's (`AwsOptions::load`), no SDK retries: the
/// consumer owns its retries and counts throttling itself.
pub fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    use aws_sdk_kinesis::config::retry::RetryConfig;
    use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "gridwatch-test",
            "gridwatch-test",
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_kinesis::Client::from_conf(conf)
}

/// Creates a stream and waits until it is ACTIVE.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    wait_active(client, name).await;
}

/// Puts `(partition key, data)` records with PutRecords, 500 at a time;
/// every entry must be accepted.
pub async fn put_records(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    items: &[(String, Vec<u8>)],
) {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    for chunk in items.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(k, d)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(k)
                    .data(Blob::new(d.clone()))
                    .build()
                    .expect("key and data are set")
            })
            .collect();
        let out = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .expect("PutRecords");
        assert_eq!(out.failed_record_count(), Some(0));
    }
}

/// Waits until a stream is ACTIVE again (after create, split or merge).
pub async fn wait_active(client: &aws_sdk_kinesis::Client, name: &str) {
    for _ in 0..100 {
        let d = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .expect("DescribeStreamSummary");
        if d.stream_description_summary()
            .map(|s| s.stream_status().as_str())
            == Some("ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("stream {name} did not become ACTIVE");
}

/// A loopback HTTP proxy in front of an emulator that answers some requests
/// itself with an AWS error, to inject faults a real service produces
/// (throttling, expired iterators) into a real protocol exchange.
pub struct FaultProxy {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub injected: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Every request seen: (operation, body).
    pub requests: RequestLog,
}

/// The requests a proxy saw: (operation, body).
pub type RequestLog = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// An AWS error to answer with: its type, and any more JSON fields of its
/// body (e.g. `"RejectedRecords": [...]`).
pub struct Fault {
    pub error: &'static str,
    pub extra: String,
    /// Instead of an error, this answer with HTTP 200: a state the
    /// emulator cannot reach (a FAILED Athena query, a page with more to
    /// come).
    pub answer: Option<String>,
}

impl Fault {
    pub fn new(error: &'static str) -> Option<Fault> {
        Some(Fault {
            error,
            extra: String::new(),
            answer: None,
        })
    }

    /// Answers with `body` (JSON) and HTTP 200.
    pub fn answer(body: String) -> Option<Fault> {
        Some(Fault {
            error: "",
            extra: String::new(),
            answer: Some(body),
        })
    }
}

/// Which error to answer the n-th request of an operation with, if any.
pub type FaultRule = dyn Fn(&str, u64) -> Option<Fault> + Send + Sync;

impl FaultProxy {
    /// Each Timestream record the proxy passed in `WriteRecords` calls, as
    /// (its `DeviceID` dimension, measure name, time), in order.
    pub fn timestream_writes(&self) -> Vec<(String, String, String)> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let bodies = requests.iter().filter(|(op, _)| op == "WriteRecords");
        let mut out = Vec::new();
        for (_, body) in bodies {
            let body: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
            for r in body["Records"].as_array().into_iter().flatten() {
                let device = (r["Dimensions"].as_array().into_iter().flatten())
                    .find(|d| d["Name"] == "DeviceID")
                    .and_then(|d| d["Value"].as_str());
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                out.push((
                    device.unwrap_or_default().to_owned(),
                    text(&r["MeasureName"]),
                    text(&r["Time"]),
                ));
            }
        }
        out
    }

    pub fn start(upstream: u16, rule: std::sync::Arc<FaultRule>) -> FaultProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(AtomicU64::new(0));
        let requests: RequestLog = Arc::default();
        let counts: Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>> = Arc::default();
        let (stop2, injected2, requests2) = (stop.clone(), injected.clone(), requests.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (rule, counts, injected, log) = (
                            rule.clone(),
                            counts.clone(),
                            injected2.clone(),
                            requests2.clone(),
                        );
                        std::thread::spawn(move || {
                            let _ = proxy_connection(
                                client, upstream, &*rule, &counts, &injected, &log,
                            );
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            port,
            stop,
            injected,
            requests,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Reads one HTTP/1.1 message (headers and a Content-Length body).
fn read_message(r: &mut impl std::io::BufRead) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    std::io::Read::read_exact(r, &mut body)?;
    Ok(Some((head, body)))
}

fn proxy_connection(
    client: std::net::TcpStream,
    upstream: u16,
    rule: &FaultRule,
    counts: &std::sync::Mutex<std::collections::HashMap<String, u64>>,
    injected: &std::sync::atomic::AtomicU64,
    log: &std::sync::Mutex<Vec<(String, Vec<u8>)>>,
) -> std::io::Result<()> {
    use std::io::{BufReader, Write};
    client.set_nonblocking(false)?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    let server = std::net::TcpStream::connect(("127.0.0.1", upstream))?;
    let mut server_reader = BufReader::new(server.try_clone()?);
    let mut server_writer = server;
    while let Some((head, body)) = read_message(&mut reader)? {
        let target = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("x-amz-target")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        // JSON-protocol services name the operation in X-Amz-Target; S3's
        // REST calls in the query string (`x-id=GetObject`, `list-type=2`).
        let s3 = target.is_empty();
        let op = if s3 {
            s3_operation(head.lines().next().unwrap_or(""))
        } else {
            target.rsplit('.').next().unwrap_or("").to_owned()
        };
        let n = {
            let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
            let n = c.entry(op.clone()).or_default();
            *n += 1;
            *n
        };
        if let Ok(mut l) = log.lock() {
            l.push((op.clone(), body.clone()));
        }
        if let Some(Fault {
            error,
            extra,
            answer,
        }) = rule(&op, n)
        {
            injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(body) = answer {
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )?;
                writer.flush()?;
                continue;
            }
            if s3 {
                // S3's own shape of a fault: XML, with the status it means
                // (503 for SlowDown, as S3 throttles).
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{error}</Code><Message>injected by the test proxy</Message></Error>"
                );
                write!(
                    writer,
                    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )?;
                writer.flush()?;
                continue;
            }
            let body =
                format!(r#"{{"__type":"{error}","message":"injected by the test proxy"{extra}}}"#);
            write!(
                writer,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {error}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )?;
            writer.flush()?;
            continue;
        }
        server_writer.write_all(head.as_bytes())?;
        server_writer.write_all(&body)?;
        server_writer.flush()?;
        let Some((rhead, rbody)) = read_message(&mut server_reader)? else {
            return Ok(());
        };
        writer.write_all(rhead.as_bytes())?;
        writer.write_all(&rbody)?;
        writer.flush()?;
    }
    Ok(())
}

/// The S3 operation of a request line (`GET /bucket/key?x-id=GetObject
/// HTTP/1.1`), as the Rust SDK marks it; `ListObjectsV2` by its
/// `list-type=2`.
fn s3_operation(request_line: &str) -> String {
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&') {
        if let Some(op) = pair.strip_prefix("x-id=") {
            return op.to_owned();
        }
        if pair == "list-type=2" {
            return "ListObjectsV2".into();
        }
    }
    String::new()
}

/// moto server (S3, Timestream) on a free 127.0.0.1 port.
pub struct Moto {
    pub port: u16,
    _process: KillOnDrop,
}

impl Moto {
    /// Starts moto; fails the test (never skips it) when it is missing.
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// Moto checking every request's credentials against its own IAM, as
    /// AWS does: an unknown access key is refused.
    pub fn start_with_auth() -> Moto {
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        let bin = emulators_dir().join(".venv/bin/moto_server");
        assert!(bin.exists(), "moto is not installed: run `./dev.sh setup`");
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let process = KillOnDrop(child);
            let up = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up {
                return Moto {
                    port,
                    _process: process,
                };
            }
        }
        panic!("moto_server did not start");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a Timestream database and table, with boto3 (moto answers
    /// the Rust SDK's CreateDatabase with a server error).
    pub fn create_timestream_table(&self, database: &str, table: &str) {
        emulator_python([
            "-c",
            "import boto3,sys; c=boto3.client('timestream-write', endpoint_url=sys.argv[1]); \
             c.create_database(DatabaseName=sys.argv[2]); \
             c.create_table(DatabaseName=sys.argv[2], TableName=sys.argv[3])",
            &self.endpoint(),
            database,
            table,
        ]);
    }

    /// Queues canned Timestream query pages (JSON, in the Query response's
    /// shape) for the exact query string; moto serves them in order.
    pub fn can_query(&self, query: &str, pages: &[String]) {
        let pages: Vec<serde_json::Value> = pages
            .iter()
            .map(|p| serde_json::from_str(p).expect("a canned page is JSON"))
            .collect();
        self.post(
            "/moto-api/static/timestream/query-results",
            &serde_json::json!({
                "account_id": "123456789012",
                "region": "us-east-1",
                "results": { query: pages },
            }),
        );
    }

    /// POSTs `body` to moto's own API at `path` (canned results, state
    /// transitions), which must take it.
    pub fn post(&self, path: &str, body: &serde_json::Value) {
        use std::io::Write;
        // The body on standard input: a canned answer can be larger than
        // an argument may be.
        let mut curl = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .arg(format!("{}{path}", self.endpoint()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("curl runs (package curl)");
        if let Some(mut stdin) = curl.stdin.take() {
            stdin
                .write_all(body.to_string().as_bytes())
                .expect("curl reads the body");
        }
        let ok = curl.wait().expect("curl ends");
        assert!(ok.success(), "moto refused {path}");
    }

    /// Queues `answer` (a GetQueryResults body: `ResultSet` with its rows,
    /// header first, and `ResultSetMetadata`) as moto's next Athena result.
    pub fn queue_athena_result(&self, answer: &serde_json::Value) {
        let set = &answer["ResultSet"];
        self.post(
            "/moto-api/static/athena/query-results",
            &serde_json::json!({
                "results": [{
                    "rows": set["Rows"],
                    "column_info": set["ResultSetMetadata"]["ColumnInfo"],
                }]
            }),
        );
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                "gridwatch-test",
                "gridwatch-test",
                None,
                None,
                "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// The app in a real window on `x`, with its own cache, settings and
/// config folder, reporting the UI's health to a file.
pub struct RunningApp {
    pub process: KillOnDrop,
    pub dir: PathBuf,
    pub health_file: PathBuf,
    pub log_path: PathBuf,
}

impl RunningApp {
    /// Starts `gridwatch <args…>` in `dir` (its cache, settings, config and
    /// log live there), under `wrapper` if given (e.g. a D-Bus session).
    pub fn start(x: &Xvfb, dir: &Path, args: &[&str], wrapper: &[&str]) -> RunningApp {
        let health_file = dir.join("health.json");
        let log_path = dir.join("app.log");
        let _ = std::fs::remove_file(&health_file);
        let log = std::fs::File::create(&log_path).unwrap();
        let bin = gridwatch_bin();
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let child = command
            .arg("--cache")
            .arg(dir.join("app.sqlite"))
            .arg("--lake")
            .arg(dir.join("lake"))
            .args(args)
            .env("DISPLAY", &x.display)
            .env("GRIDWATCH_UI_HEALTH_FILE", &health_file)
            .env("GRIDWATCH_SETTINGS", dir.join("settings.json"))
            // Each app its own config, data and cache folders: two webviews
            // sharing one data folder do not both start.
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CACHE_HOME", dir.join("xdg-cache"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the app starts");
        RunningApp {
            process: KillOnDrop(child),
            dir: dir.to_owned(),
            health_file,
            log_path,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The UI's last health report; panics with the log if the app died.
    pub fn health(&mut self) -> Option<gridwatch_types::UiHealth> {
        if let Ok(Some(status)) = self.process.0.try_wait() {
            panic!("the app exited ({status}):\n{}", self.log());
        }
        serde_json::from_slice(&std::fs::read(&self.health_file).ok()?).ok()
    }

    /// Resident memory of the app and every process under it (the
    /// webview's processes), in KiB.
    pub fn rss_kib(&self) -> u64 {
        tree_rss_kib(self.process.0.id())
    }
}

/// Resident memory of `pid` and its descendants, from /proc, in KiB.
pub fn tree_rss_kib(pid: u32) -> u64 {
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    };
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
            .flat_map(|c| {
                c.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect()
    };
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        total += rss(p);
        todo.extend(children(p));
    }
    total
}

/// Runs `cmd` to completion with its output captured, but kills it and fails
/// the test if it runs longer than `limit`: a hang guard, not a timing claim.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    // Drained on their own threads, so a chatty child never blocks on a
    // full pipe while we wait for it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
            panic!("still running after {limit:?} (hung?); killed it. stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A tmpfs of `size` (e.g. `"8m"`) mounted on a fresh folder, unmounted when
/// dropped: a disk that really fills up. Mounting needs root; the test
/// fails (never skips) without it.
pub struct SmallDisk {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "gridwatch-test",
            ])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (the disk-full tests need root): {}",
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk {
            path: dir.path().to_owned(),
            _dir: dir,
        }
    }

    /// Writes a file of zeros until the disk refuses more; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a process still holding a file there must not keep the mount.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The readings a cache holds; None while there is no cache to read yet.
/// Opens it read-only: never creates the file, never takes a write lock.
pub fn cached_readings(cache: &Path) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(cache, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT count(*) FROM reading", [], |r| r.get(0))
        .ok()
}

/// How many devices the cache at `cache` holds a reading of at or after
/// `since_us` (epoch µs).
pub fn cached_devices_since(cache: &Path, since_us: i64) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(cache, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT count(DISTINCT device) FROM reading WHERE ts_us >= ?1",
        [since_us],
        |r| r.get(0),
    )
    .ok()
}

/// `gridwatch --cache <cache> ingest --stream <stream>` against an
/// emulator at `endpoint`, with the emulator's credentials.
pub fn ingest_cmd(cache: &Path, endpoint: &str, stream: &str, until_caught_up: bool) -> Command {
    let mut cmd = Command::new(gridwatch_bin());
    cmd.arg("--cache")
        .arg(cache)
        .args(["ingest", "--stream", stream, "--endpoint-url", endpoint]);
    if until_caught_up {
        cmd.arg("--until-caught-up");
    }
    cmd.envs(EMULATOR_ENV).env_remove("RUST_LOG");
    cmd
}

/// Every file below `root` (symbolic links listed, not followed), as paths
/// relative to it, sorted; none when `root` does not exist.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("a file's metadata");
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A Kinesis record made by AWS Labs' KPL aggregator
/// (`tests/fixtures/kpl/make_aggregates.py`), and the user records a
/// reader must find in it (none for a corrupt one).
#[derive(Debug, Clone)]
pub struct KplRecord {
    pub kind: String,
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
    /// (partition key, data) of each readable user record, in order.
    pub user_records: Vec<(String, String)>,
}

/// The KPL fixture folder: the script, its committed output.
pub fn kpl_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kpl")
}

/// Runs `make_aggregates.py` with `args` in the emulators' Python (where
/// `./dev.sh setup` installs aws-kinesis-agg); returns what it printed.
pub fn kpl_script(args: &[&str]) -> String {
    let script = kpl_fixtures_dir().join("make_aggregates.py");
    let mut all = vec![script.to_string_lossy().into_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    emulator_python(all)
}

/// The records of `make_aggregates.py`'s JSON (one list of them).
pub fn kpl_records(json: &serde_json::Value) -> Vec<KplRecord> {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    json.as_array()
        .unwrap()
        .iter()
        .map(|r| KplRecord {
            kind: r["kind"].as_str().unwrap().to_owned(),
            partition_key: r["partition_key"].as_str().unwrap().to_owned(),
            explicit_hash_key: r["explicit_hash_key"].as_str().map(str::to_owned),
            data: hex(r["data"].as_str().unwrap()),
            user_records: r["user_records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    (
                        u["partition_key"].as_str().unwrap().to_owned(),
                        u["data"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// The committed KPL fixture (`tests/fixtures/kpl/aggregates.json`).
pub fn kpl_fixture() -> Vec<KplRecord> {
    let text = std::fs::read_to_string(kpl_fixtures_dir().join("aggregates.json")).unwrap();
    kpl_records(&serde_json::from_str(&text).unwrap())
}

/// Puts each record with its own PutRecord call, in order, with its
/// partition key and explicit hash key, as a KPL producer sends them.
pub async fn put_each(client: &aws_sdk_kinesis::Client, stream: &str, records: &[KplRecord]) {
    use aws_sdk_kinesis::primitives::Blob;
    for r in records {
        client
            .put_record()
            .stream_name(stream)
            .partition_key(&r.partition_key)
            .set_explicit_hash_key(r.explicit_hash_key.clone())
            .data(Blob::new(r.data.clone()))
            .send()
            .await
            .expect("PutRecord");
    }
}

/// Debian's InfluxDB 1.x (`influxd`), the test server for Timestream for
/// InfluxDB: started on free loopback ports with its data in a temporary
/// folder; fails the test (never skips it) when it is missing. Every
/// request the tests make of it goes through `curl`, not the product's
/// client.
pub struct Influx {
    pub port: u16,
    /// With auth on: the admin user and password the tests created.
    pub admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
    _process: KillOnDrop,
}

impl Influx {
    /// Starts influxd with a database `grid`; with `auth`, HTTP auth on and
    /// an admin user `admin` / `s3cret`.
    pub fn start(auth: bool) -> Influx {
        let bin = Command::new("sh")
            .args(["-c", "command -v influxd"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        let bin = bin.unwrap_or_else(|| {
            panic!("influxd is not installed (Debian's influxdb): run `./dev.sh setup`")
        });
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a data folder");
            let (port, rpc) = (free(), free());
            let d = dir.path().display();
            let config = format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  auth-enabled = {auth}\n  log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [continuous_queries]\n  enabled = false\n"
            );
            let path = dir.path().join("influxdb.conf");
            std::fs::write(&path, config).expect("the config file");
            let child = Command::new(&bin)
                .arg("-config")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("influxd starts");
            let process = KillOnDrop(child);
            let mut influx = Influx {
                port,
                admin: None,
                _dir: dir,
                _process: process,
            };
            let up = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                influx.curl(&[
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    &format!("{}/ping", influx.url()),
                ]) == "204"
            });
            if !up {
                continue;
            }
            if auth {
                // The first user may be made without credentials.
                influx.run("CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES");
                influx.admin = Some(("admin".into(), "s3cret".into()));
            }
            influx.run("CREATE DATABASE grid");
            return influx;
        }
        panic!("influxd did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// curl's standard output, with the admin's credentials when auth is on.
    fn curl(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "30"]);
        if let Some((u, p)) = &self.admin {
            cmd.args(["-u", &format!("{u}:{p}")]);
        }
        let out = cmd.args(args).output().expect("curl runs (package curl)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs InfluxQL in database `grid` (or none, for CREATE DATABASE) and
    /// returns InfluxDB's JSON answer; an error in it fails the test.
    pub fn run(&self, q: &str) -> serde_json::Value {
        let body = self.curl(&[
            "-X",
            "POST",
            &format!("{}/query", self.url()),
            "--data-urlencode",
            "db=grid",
            "--data-urlencode",
            "epoch=ms",
            "--data-urlencode",
            &format!("q={q}"),
        ]);
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{q}: {e}: {body}"));
        assert!(
            v.get("error").is_none() && v["results"][0].get("error").is_none(),
            "{q}: {v}"
        );
        v
    }

    /// Writes line protocol (times in milliseconds) to database `grid`;
    /// returns the HTTP status.
    pub fn write(&self, lines: &str) -> String {
        let file = tempfile::NamedTempFile::new().expect("a temp file");
        std::fs::write(file.path(), lines).expect("the lines");
        self.curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            &format!("{}/write?db=grid&precision=ms", self.url()),
            "--data-binary",
            &format!("@{}", file.path().display()),
        ])
    }
}

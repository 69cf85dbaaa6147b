//! How `gridwatch sql` meets Timestream's failures, against moto server on
//! 127.0.0.1 and, for the failures moto never produces (throttling, a
//! server fault, a validation error, a query that is still running), the
//! fault-injecting proxy in front of it: each failure is said as what it
//! is; only an unreachable endpoint is answered from the cache; throttling
//! and faults are retried and the rows still arrive exactly; a validation
//! error is sent once; Ctrl-C cancels the query on the server.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gridwatch_tests::{EMULATOR_ENV, Fault, FaultProxy, KillOnDrop, Moto, gridwatch_bin, wait_for};
use serde_json::{Value, json};

const SQL: &str = "SELECT device, volts FROM \"grid\".\"readings\"";

fn page(query_id: &str, rows: &[(&str, &str)], next: Option<&str>) -> String {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(d, v)| json!({"Data": [{"ScalarValue": d}, {"ScalarValue": v}]}))
        .collect();
    let mut p = json!({
        "QueryId": query_id,
        "ColumnInfo": [
            {"Name": "device", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "volts", "Type": {"ScalarType": "DOUBLE"}}
        ],
        "Rows": rows,
        "QueryStatus": {"CumulativeBytesScanned": 10, "CumulativeBytesMetered": 10}
    });
    if let Some(n) = next {
        p["NextToken"] = json!(n);
    }
    p.to_string()
}

/// Two pages of one row each, in moto's queue for [`SQL`].
fn can_two_pages(moto: &Moto) {
    moto.can_query(
        SQL,
        &[
            page("q-1", &[("m-1", "230.5")], Some("p2")),
            page("q-1", &[("m-2", "231.5")], None),
        ],
    );
}

fn sql_command(cache: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(gridwatch_bin());
    c.arg("--cache")
        .arg(cache)
        .args(["sql", SQL, "--format", "json", "--endpoint-url", endpoint])
        .envs(EMULATOR_ENV)
        .env_remove("RUST_LOG");
    c
}

fn sql(cache: &Path, endpoint: &str) -> Output {
    sql_command(cache, endpoint).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rows(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn two_rows() -> Value {
    json!([{"device": "m-1", "volts": 230.5}, {"device": "m-2", "volts": 231.5}])
}

/// Fetches [`SQL`] once from a plain moto, so the cache holds its answer.
fn prime_cache(cache: &Path) {
    let moto = Moto::start();
    can_two_pages(&moto);
    assert_eq!(rows(&sql(cache, &moto.endpoint())), two_rows());
}

/// The operations the proxy saw, in order, and the JSON bodies of one.
fn seen(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(op, _)| op.clone())
        .collect()
}

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

fn count(proxy: &FaultProxy, op: &str) -> usize {
    seen(proxy).iter().filter(|o| *o == op).count()
}

#[test]
fn throttling_and_server_faults_are_retried_and_every_row_arrives() {
    let moto = Moto::start();
    can_two_pages(&moto);
    // The first try of each page fails: throttled, then a server fault.
    let proxy = FaultProxy::start(
        moto.port,
        Arc::new(|op: &str, n: u64| match (op, n) {
            ("Query", 1) => Fault::new("ThrottlingException"),
            ("Query", 3) => Fault::new("InternalServerException"),
            _ => None,
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = sql(&dir.path().join("c.sqlite"), &proxy.endpoint());
    assert_eq!(rows(&out), two_rows());
    assert!(
        stderr(&out).contains("2 rows in 2 pages"),
        "{}",
        stderr(&out)
    );
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst), 2);
    let queries = bodies(&proxy, "Query");
    assert_eq!(queries.len(), 4, "two pages, each tried twice: {queries:?}");
    let next: Vec<Option<&str>> = queries.iter().map(|q| q["NextToken"].as_str()).collect();
    assert_eq!(next, [None, None, Some("p2"), Some("p2")]);
    // A retry is the same request: Timestream runs (and meters) a query
    // once per ClientToken.
    let token = |i: usize| queries[i]["ClientToken"].as_str().unwrap().to_owned();
    assert_eq!(token(0), token(1));
    assert_eq!(token(2), token(3));
    assert_ne!(token(0), token(2));
}

#[test]
fn a_validation_error_is_said_as_such_sent_once_and_never_answered_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    prime_cache(&cache);
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        moto.port,
        Arc::new(|op: &str, _| (op == "Query").then(|| Fault::new("ValidationException"))?),
    );
    let out = sql(&cache, &proxy.endpoint());
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "Timestream refused the query as invalid: ValidationException (HTTP 400): injected by the test proxy"
        ),
        "{err}"
    );
    assert!(!err.contains("CACHED"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(count(&proxy, "Query"), 1, "never retried");
}

#[test]
fn throttling_past_the_retries_is_said_as_such_and_never_answered_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    prime_cache(&cache);
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        moto.port,
        Arc::new(|op: &str, _| (op == "Query").then(|| Fault::new("ThrottlingException"))?),
    );
    let out = sql(&cache, &proxy.endpoint());
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("Timestream is throttling the query (retried, still throttled): ThrottlingException (HTTP 400)"),
        "{err}"
    );
    assert!(!err.contains("CACHED"), "{err}");
    assert_eq!(count(&proxy, "Query"), 4, "four tries in all");
}

#[test]
fn access_denied_is_said_as_such_and_never_answered_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    prime_cache(&cache);
    // Moto checking credentials as AWS does: the emulators' key is unknown.
    let strict = Moto::start_with_auth();
    let out = sql(&cache, &strict.endpoint());
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("Timestream denied access"), "{err}");
    assert!(!err.contains("CACHED"), "{err}");
}

#[test]
fn a_closed_port_is_unreachable_and_answered_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    prime_cache(&cache);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = sql(&cache, &format!("http://127.0.0.1:{closed}"));
    assert_eq!(rows(&out), two_rows());
    let err = stderr(&out);
    assert!(
        err.contains("Timestream is unreachable; showing the CACHED result fetched at"),
        "{err}"
    );
}

#[test]
fn without_credentials_timestream_says_so_rather_than_a_failed_discovery() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("none");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let run = |endpoint: Option<&str>| {
        let mut c = Command::new(gridwatch_bin());
        c.arg("--cache").arg(&cache).args(["sql", SQL]);
        if let Some(e) = endpoint {
            c.args(["--endpoint-url", e]);
        }
        // No credentials anywhere: no keys, no profile files, no instance
        // metadata; a region, so discovery would have been tried.
        for (k, _) in EMULATOR_ENV {
            c.env_remove(k);
        }
        for k in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "RUST_LOG",
        ] {
            c.env_remove(k);
        }
        c.env("HOME", home.path())
            .env("AWS_CONFIG_FILE", &missing)
            .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    };
    // Against AWS (endpoint discovery) and against an endpoint URL.
    for endpoint in [None, Some("http://127.0.0.1:9")] {
        let out = run(endpoint);
        let err = stderr(&out);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("no AWS credentials"), "{endpoint:?}: {err}");
        assert!(!err.contains("endpoint discovery failed"), "{err}");
    }
}

/// A gate the proxy's rule waits at, to hold a request in flight.
#[derive(Default)]
struct Gate(Mutex<bool>, Condvar);

impl Gate {
    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }
}

/// `gridwatch sql` through a proxy that holds the first Query at `first`
/// and every later one at `later`, with three pages canned; its stderr is
/// gathered line by line as it comes.
struct Interrupted {
    child: KillOnDrop,
    proxy: FaultProxy,
    first: Arc<Gate>,
    later: Arc<Gate>,
    stderr: Arc<Mutex<Vec<String>>>,
    _moto: Moto,
    _dir: tempfile::TempDir,
}

impl Interrupted {
    fn start(first_open: bool) -> Interrupted {
        let moto = Moto::start();
        moto.can_query(
            SQL,
            &[
                page("q-1", &[("m-1", "230.5")], Some("p2")),
                page("q-1", &[("m-2", "231.5")], Some("p3")),
                page("q-1", &[("m-3", "232.5")], None),
            ],
        );
        let (first, later) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
        if first_open {
            first.open();
        }
        let (f, l) = (first.clone(), later.clone());
        let proxy = FaultProxy::start(
            moto.port,
            Arc::new(move |op: &str, n: u64| {
                match (op, n) {
                    ("Query", 1) => f.wait(),
                    ("Query", _) => l.wait(),
                    _ => {}
                }
                None
            }),
        );
        let dir = tempfile::tempdir().unwrap();
        let mut child = sql_command(&dir.path().join("c.sqlite"), &proxy.endpoint())
            .env("RUST_LOG", "gridwatch_core=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Interrupted {
            child: KillOnDrop(child),
            proxy,
            first,
            later,
            stderr,
            _moto: moto,
            _dir: dir,
        }
    }

    fn wait_for_queries(&self, n: usize) {
        wait_for(Duration::from_secs(60), "the held Query", || {
            (count(&self.proxy, "Query") >= n).then_some(())
        });
    }

    fn wait_for_line(&self, what: &str) {
        wait_for(Duration::from_secs(60), what, || {
            self.stderr
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(what))
                .then_some(())
        });
    }

    fn ctrl_c(&self) {
        let pid = self.child.0.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits for the exit; its status and all it wrote to stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String, FaultProxy) {
        let status = wait_for(Duration::from_secs(60), "gridwatch to stop", || {
            self.child.0.try_wait().unwrap()
        });
        // Let the reader thread take the last lines.
        wait_for(Duration::from_secs(10), "stderr to close", || {
            let lines = self.stderr.lock().unwrap();
            lines.iter().any(|l| l.starts_with("error:")).then_some(())
        });
        self.first.open();
        self.later.open();
        let err = self.stderr.lock().unwrap().join("\n");
        (status, err, self.proxy)
    }
}

fn assert_cancelled_on_the_server(status: std::process::ExitStatus, err: &str, proxy: &FaultProxy) {
    assert!(!status.success(), "{err}");
    assert!(err.contains("the query was cancelled"), "{err}");
    let cancels = bodies(proxy, "CancelQuery");
    assert!(
        !cancels.is_empty(),
        "CancelQuery was never sent: {:?}",
        seen(proxy)
    );
    // Moto has no CancelQuery (it answers 500), so it may have been tried
    // again; always for the query the first page named.
    assert!(
        cancels.iter().all(|c| c == &json!({"QueryId": "q-1"})),
        "{cancels:?}"
    );
}

#[test]
fn ctrl_c_between_pages_cancels_the_query_on_the_server_at_once() {
    let run = Interrupted::start(true);
    // The second page is held in flight: Ctrl-C must not wait for it.
    run.wait_for_queries(2);
    run.ctrl_c();
    let (status, err, proxy) = run.finish();
    assert_cancelled_on_the_server(status, &err, &proxy);
    assert_eq!(count(&proxy, "Query"), 2);
}

#[test]
fn ctrl_c_before_the_first_page_cancels_once_the_query_id_is_known() {
    let run = Interrupted::start(false);
    run.wait_for_queries(1);
    run.ctrl_c();
    // Gridwatch has seen the cancel and waits for the first page, which
    // brings the query's id.
    run.wait_for_line("waiting for the query's id to cancel it");
    run.first.open();
    let (status, err, proxy) = run.finish();
    assert_cancelled_on_the_server(status, &err, &proxy);
    assert_eq!(count(&proxy, "Query"), 1, "no page after the cancel");
}

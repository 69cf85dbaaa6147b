//! The History view's Cancel, through the session the UI drives, against
//! moto on 127.0.0.1 behind the fault proxy (which holds a page in flight,
//! as a long query would): the query stops and Timestream's CancelQuery is
//! sent for it at once, so it stops running (and metering) on the server.
//! One test in this binary: it sets the process environment.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gridwatch_session::{Headless, Session};
use gridwatch_simulator::Embedded;
use gridwatch_tests::{EMULATOR_ENV, FaultProxy, Moto, wait_for};
use gridwatch_types::{ErrorCode, HistoryQuery, Request, TimestreamConnection};
use serde_json::{Value, json};

// As the Grafana plugin expands $__database.$__table: plain names as they are.
const SQL: &str = "SELECT t, avg FROM grid.readings";

fn page(next: Option<&str>) -> String {
    let mut p = json!({
        "QueryId": "q-long",
        "ColumnInfo": [
            {"Name": "t", "Type": {"ScalarType": "TIMESTAMP"}},
            {"Name": "avg", "Type": {"ScalarType": "DOUBLE"}}
        ],
        "Rows": [{"Data": [{"ScalarValue": "2023-11-14 22:00:00.000000000"}, {"ScalarValue": "230.1"}]}],
        "QueryStatus": {"CumulativeBytesScanned": 10, "CumulativeBytesMetered": 10}
    });
    if let Some(n) = next {
        p["NextToken"] = json!(n);
    }
    p.to_string()
}

#[test]
fn cancel_in_the_history_view_calls_cancel_query_at_once() {
    for (k, v) in EMULATOR_ENV {
        // SAFETY: the only test in this binary, before any thread that
        // reads the environment has started.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(k, v)
        };
    }
    let moto = Moto::start();
    moto.can_query(SQL, &[page(Some("p2")), page(None)]);
    // The second page is held at the proxy until the test ends.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let held = gate.clone();
    let proxy = FaultProxy::start(
        moto.port,
        Arc::new(move |op: &str, n: u64| {
            if op == "Query" && n >= 2 {
                let mut open = held.0.lock().unwrap();
                while !*open {
                    open = held.1.wait(open).unwrap();
                }
            }
            None
        }),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        Arc::new(Session::new(
            Embedded::open(&dir.path().join("h.sqlite"), 1).unwrap(),
            dir.path().join("lake"),
        ))
    });
    let query = HistoryQuery {
        connection: TimestreamConnection {
            database: "grid".into(),
            table: "readings".into(),
            endpoint_url: Some(proxy.endpoint()),
            ..TimestreamConnection::default()
        },
        sql: Some("SELECT t, avg FROM $__database.$__table".into()),
        device: None,
        measure: "voltage".into(),
        from_us: 1_700_000_000_000_000,
        to_us: 1_700_003_600_000_000,
        pixels: 800,
        max_bytes: Some(10_000_000_000),
        variables: Vec::new(),
        influx: None,
        range_label: None,
    };
    let running = {
        let session = session.clone();
        rt.spawn(async move {
            session
                .dispatch(&Headless::default(), Request::History(query))
                .await
        })
    };
    let queries = || {
        proxy
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == "Query")
            .count()
    };
    wait_for(Duration::from_secs(60), "the second page in flight", || {
        (queries() >= 2).then_some(())
    });
    rt.block_on(session.dispatch(&Headless::default(), Request::CancelHistory))
        .unwrap();
    // Bounded, so a Cancel that waits for the held page fails rather than
    // hangs.
    let answer = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), running).await })
        .expect("the history query stopped on Cancel")
        .unwrap();
    let e = answer.unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled, "{e:?}");
    let cancels: Vec<Value> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _)| op == "CancelQuery")
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert!(!cancels.is_empty(), "CancelQuery was never sent");
    assert!(
        cancels.iter().all(|c| c == &json!({"QueryId": "q-long"})),
        "{cancels:?}"
    );
    // Sent while the second page was still held: at once.
    assert_eq!(queries(), 2);
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    rt.block_on(session.shutdown()).unwrap();
}

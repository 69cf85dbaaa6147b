//! Timestream result parsing: rows/s from a Query response into typed values
//! (the SDK's HTTP and JSON path plus Gridwatch's typing, against a loopback
//! server answering with a canned 10,000-row page), beside plain serde
//! deserialisation of the same response JSON into `serde_json::Value`. The
//! ratio is conservative: only Gridwatch's side pays for HTTP.
//!
//! Run: `cargo bench -p gridwatch-tests --bench timestream`.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::aws::AwsOptions;
use gridwatch_core::timestream::{query_client, run_query};

const ROWS: usize = 10_000;

fn page() -> Vec<u8> {
    let scalar = |t: &str| format!(r#"{{"ScalarType":"{t}"}}"#);
    let cols = format!(
        r#"[{{"Name":"bucket","Type":{}}},{{"Name":"avg","Type":{}}},{{"Name":"min","Type":{}}},{{"Name":"max","Type":{}}},{{"Name":"sum","Type":{}}},{{"Name":"count","Type":{}}}]"#,
        scalar("TIMESTAMP"),
        scalar("DOUBLE"),
        scalar("DOUBLE"),
        scalar("DOUBLE"),
        scalar("DOUBLE"),
        scalar("BIGINT")
    );
    let rows: Vec<String> = (0..ROWS)
        .map(|i| {
            format!(
                r#"{{"Data":[{{"ScalarValue":"2023-11-14 22:{:02}:{:02}.000000000"}},{{"ScalarValue":"230.{i}"}},{{"ScalarValue":"229.1"}},{{"ScalarValue":"231.9"}},{{"ScalarValue":"{}.5"}},{{"ScalarValue":"{i}"}}]}}"#,
                (i / 60) % 60,
                i % 60,
                i * 10
            )
        })
        .collect();
    format!(
        r#"{{"QueryId":"bench","ColumnInfo":{cols},"Rows":[{}],"QueryStatus":{{"CumulativeBytesScanned":1,"CumulativeBytesMetered":1}}}}"#,
        rows.join(",")
    )
    .into_bytes()
}

/// Answers every request with `body`, on 127.0.0.1.
fn serve(body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut req = vec![0; len];
                    if reader.read_exact(&mut req).is_err() {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(&body))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn parse(c: &mut Criterion) {
    let body = page();
    let port = serve(body.clone());
    // SAFETY: set before the runtime or any other thread reads the
    // environment; the benchmark's own dummy credentials.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let options = AwsOptions {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        ..AwsOptions::default()
    };
    let client = rt.block_on(query_client(&options)).unwrap();
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let mut g = c.benchmark_group("timestream_parse_10k_rows");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(20);
    g.bench_function("query_into_typed_values", |b| {
        b.iter(|| {
            let mut n = 0;
            rt.block_on(run_query(&client, "SELECT 1", None, &stop, |_, rows| {
                n += rows.len()
            }))
            .unwrap();
            assert_eq!(n, ROWS);
        })
    });
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["Rows"].as_array().unwrap().len(), ROWS);
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

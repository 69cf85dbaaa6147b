//! Timestream result parsing: rows/s from a Query response into typed values
//! (the SDK's HTTP and JSON path plus Gridwatch's typing, against a loopback
//! server answering with a canned 10,000-row page), beside the same answer
//! fetched over the same loopback with a bare keep-alive HTTP/1.1 exchange
//! and read by a typed serde struct of the response, each datum typed by
//! the same function Gridwatch's side uses (`timestream::scalar`). Both
//! answers are compared, value for value, before timing.
//!
//! Run: `cargo bench -p gridwatch-tests --bench timestream`.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use aws_sdk_timestreamquery::types::ScalarType;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::aws::AwsOptions;
use gridwatch_core::timestream::{Value, query_client, run_query, scalar};
use serde::Deserialize;

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

/// A Query response as a developer would type it for serde.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedPage {
    column_info: Vec<TypedColumn>,
    rows: Vec<TypedRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedColumn {
    r#type: TypedType,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedType {
    scalar_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedRow {
    data: Vec<TypedDatum>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedDatum {
    scalar_value: Option<String>,
    null_value: Option<bool>,
}

/// The baseline's fetch: one POST on a kept-alive loopback connection,
/// the body read whole.
fn fetch(conn: &mut BufReader<TcpStream>) -> Vec<u8> {
    let request = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}";
    conn.get_mut().write_all(request).unwrap();
    let mut len = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    body
}

/// The baseline's reading: the typed struct, each datum typed as
/// Gridwatch's side types it (an unreadable one becomes `Invalid`).
fn typed_rows(body: &[u8]) -> Vec<Vec<Value>> {
    let page: TypedPage = serde_json::from_slice(body).unwrap();
    let kinds: Vec<ScalarType> = page
        .column_info
        .iter()
        .map(|c| ScalarType::from(c.r#type.scalar_type.as_str()))
        .collect();
    page.rows
        .into_iter()
        .map(|row| {
            row.data
                .iter()
                .zip(&kinds)
                .map(|(d, kind)| match (&d.scalar_value, d.null_value) {
                    (_, Some(true)) | (None, _) => Value::Null,
                    (Some(s), _) => scalar(kind, s).unwrap_or_else(Value::Invalid),
                })
                .collect()
        })
        .collect()
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
    let query = |keep: bool| {
        let mut rows = Vec::new();
        rt.block_on(run_query(&client, "SELECT 1", None, &stop, |_, page| {
            if keep {
                rows.extend(page)
            } else {
                assert_eq!(page.len(), ROWS)
            }
        }))
        .unwrap();
        rows
    };
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let ours = query(true);
    assert_eq!(ours.len(), ROWS);
    assert_eq!(typed_rows(&fetch(&mut conn)), ours, "the two sides' rows");

    let mut g = c.benchmark_group("timestream_parse_10k_rows");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(20);
    g.bench_function("query_into_typed_values", |b| b.iter(|| query(false)));
    g.bench_function("baseline_http_and_serde_typed_struct", |b| {
        b.iter(|| {
            let rows = typed_rows(&fetch(&mut conn));
            assert_eq!(rows.len(), ROWS);
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

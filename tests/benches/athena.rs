//! Athena's two hot paths (issue 18):
//!
//! - **Answers**: 1,000,000 result rows in 1,000 GetQueryResults pages,
//!   read by Gridwatch (the SDK's HTTP and JSON path, then the rows typed
//!   by the metadata into a frame) from a loopback server, beside the same
//!   pages fetched over the same loopback with a bare keep-alive HTTP/1.1
//!   exchange and parsed by `serde_json::from_slice::<Value>` (the
//!   issue's baseline: it parses, it does not type). Both answers are
//!   compared (every row's values) before timing.
//! - **Estimate**: a year of hourly partitions (8,760 of them) on moto's
//!   S3, listed as Gridwatch lists them (whole months and days as one
//!   prefix each, `LISTING_CONCURRENCY` prefixes at a time), beside a sequential listing of
//!   each hour's prefix; the two estimates must be equal.
//!
//! Run: `cargo bench -p gridwatch-tests --bench athena`.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::aws::AwsOptions;
use gridwatch_lake::athena::estimate::{Location, estimate, estimate_hourly};
use gridwatch_lake::athena::view::Clients;

const PAGES: usize = 1_000;
const PAGE_ROWS: usize = 1_000;
const COLUMNS: [(&str, &str); 5] = [
    ("device_id", "varchar"),
    ("interval", "bigint"),
    ("demand_w", "double"),
    ("records", "bigint"),
    ("voltage_p95", "double"),
];

/// Page `n` (0-based) of the answer, with the header row first on page 0
/// and a NextToken on all but the last.
fn page(n: usize) -> Vec<u8> {
    let datum = |v: &str| format!(r#"{{"VarCharValue":"{v}"}}"#);
    let mut rows: Vec<String> = Vec::with_capacity(PAGE_ROWS + 1);
    if n == 0 {
        let names: Vec<String> = COLUMNS.iter().map(|(c, _)| datum(c)).collect();
        rows.push(format!(r#"{{"Data":[{}]}}"#, names.join(",")));
    }
    for i in 0..PAGE_ROWS {
        let r = n * PAGE_ROWS + i;
        rows.push(format!(
            r#"{{"Data":[{},{},{},{},{}]}}"#,
            datum(&format!("meter-{:07}", r % 100_000)),
            datum(&(1_699_920_000_000_000i64 + r as i64 * 900_000_000).to_string()),
            datum(&format!("{}.{}E3", r % 9 + 1, r % 1000)),
            datum(&(r % 97).to_string()),
            datum(&format!("23{}.{}", r % 10, r % 7)),
        ));
    }
    let info: Vec<String> = COLUMNS
        .iter()
        .map(|(c, t)| format!(r#"{{"Name":"{c}","Label":"{c}","Type":"{t}"}}"#))
        .collect();
    let next = if n + 1 < PAGES {
        format!(r#","NextToken":"p{}""#, n + 1)
    } else {
        String::new()
    };
    format!(
        r#"{{"ResultSet":{{"Rows":[{}],"ResultSetMetadata":{{"ColumnInfo":[{}]}}}},"UpdateCount":0{next}}}"#,
        rows.join(","),
        info.join(",")
    )
    .into_bytes()
}

/// Answers each GetQueryResults with the page its NextToken names, on
/// 127.0.0.1, from pages made once.
fn serve(pages: Vec<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pages = std::sync::Arc::new(pages);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let pages = pages.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let Some(body) = read_request(&mut reader) else {
                        return;
                    };
                    let text = String::from_utf8_lossy(&body);
                    let n = text
                        .split("\"NextToken\":\"p")
                        .nth(1)
                        .and_then(|t| t.split('"').next())
                        .and_then(|t| t.parse::<usize>().ok())
                        .unwrap_or(0);
                    let body = &pages[n];
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(body))
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

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut len = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// The baseline: every page over one kept-alive connection, each parsed
/// into a `serde_json::Value`; the rows' text values, header skipped.
fn baseline(conn: &mut BufReader<TcpStream>, keep: bool) -> (usize, Vec<Vec<String>>) {
    let mut rows = 0;
    let mut kept = Vec::new();
    for n in 0..PAGES {
        let body = if n == 0 {
            "{\"QueryExecutionId\":\"bench\",\"MaxResults\":1000}".to_string()
        } else {
            format!("{{\"QueryExecutionId\":\"bench\",\"MaxResults\":1000,\"NextToken\":\"p{n}\"}}")
        };
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AmazonAthena.GetQueryResults\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.get_mut().write_all(request.as_bytes()).unwrap();
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
        let mut page = vec![0; len];
        conn.read_exact(&mut page).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&page).unwrap();
        let page_rows = value["ResultSet"]["Rows"].as_array().unwrap();
        let skip = usize::from(n == 0);
        rows += page_rows.len() - skip;
        if keep {
            kept.extend(page_rows[skip..].iter().map(|r| {
                r["Data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["VarCharValue"].as_str().unwrap().to_string())
                    .collect()
            }));
        }
    }
    (rows, kept)
}

fn answers(c: &mut Criterion) {
    let pages: Vec<Vec<u8>> = (0..PAGES).map(page).collect();
    let port = serve(pages);
    // SAFETY: set before the runtime or any other thread reads the
    // environment; the benchmark's own dummy credentials.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let options = AwsOptions {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        ..AwsOptions::default()
    };
    let clients = rt.block_on(Clients::connect(&options));
    let never = AtomicBool::new(false);
    let ours = || {
        rt.block_on(gridwatch_lake::athena::client::results(
            &clients.athena,
            "bench",
            &never,
        ))
        .unwrap()
    };
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());

    // The same answer on both sides, value for value.
    let frame = ours();
    let (rows, theirs) = baseline(&mut conn, true);
    assert_eq!(frame.height(), PAGES * PAGE_ROWS);
    assert_eq!(rows, frame.height());
    for (i, row) in theirs.iter().enumerate() {
        let devices = frame.column("device_id").unwrap().str().unwrap();
        assert_eq!(devices.get(i), Some(row[0].as_str()));
        let interval = frame.column("interval").unwrap().i64().unwrap();
        assert_eq!(interval.get(i), row[1].parse().ok());
        let demand = frame.column("demand_w").unwrap().f64().unwrap();
        assert_eq!(demand.get(i), row[2].parse().ok());
        let records = frame.column("records").unwrap().i64().unwrap();
        assert_eq!(records.get(i), row[3].parse().ok());
        let p95 = frame.column("voltage_p95").unwrap().f64().unwrap();
        assert_eq!(p95.get(i), row[4].parse().ok());
    }

    let mut g = c.benchmark_group("athena_answer_1m_rows");
    g.throughput(Throughput::Elements((PAGES * PAGE_ROWS) as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("results_into_typed_frame", |b| {
        b.iter(|| assert_eq!(ours().height(), PAGES * PAGE_ROWS))
    });
    g.bench_function("baseline_http_and_serde_value", |b| {
        b.iter(|| assert_eq!(baseline(&mut conn, false).0, PAGES * PAGE_ROWS))
    });
    g.finish();
}

fn listing(c: &mut Criterion) {
    let moto = gridwatch_tests::Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // 2023, a year of hours; an object in every 24th hour's partition.
    let start_us = 1_672_531_200_000_000i64;
    let hours: Vec<i64> = (0..8_760).map(|h| start_us + h * 3_600_000_000).collect();
    let location = Location::parse("s3://lake/telemetry/readings/json/").unwrap();
    rt.block_on(async {
        let s3 = moto.s3();
        s3.create_bucket().bucket("lake").send().await.unwrap();
        for &h in hours.iter().step_by(24) {
            s3.put_object()
                .bucket("lake")
                .key(format!("{}part", location.hour_prefix(h)))
                .body(vec![b'x'; 1_000].into())
                .send()
                .await
                .unwrap();
        }
    });
    let options = AwsOptions {
        endpoint_url: Some(moto.endpoint()),
        region: Some("us-east-1".into()),
        ..AwsOptions::default()
    };
    let clients = rt.block_on(Clients::connect(&options));
    let range = (start_us, start_us + 8_760 * 3_600_000_000);
    let ours = || {
        rt.block_on(estimate(&clients.s3, &location, range, 5.0))
            .unwrap()
    };
    let hourly = || {
        rt.block_on(estimate_hourly(&clients.s3, &location, range, 5.0, 1))
            .unwrap()
    };
    let (a, b) = (ours(), hourly());
    assert_eq!(
        (a.objects, a.bytes),
        (b.objects, b.bytes),
        "the same estimate"
    );
    assert_eq!(a.partitions, 8_760);
    assert_eq!((a.objects, a.bytes), (365, 365_000));
    // Timed in turns, also printed: the hourly listing takes long enough
    // that criterion's ten samples of it are minutes.
    for _ in 0..3 {
        let t = Instant::now();
        ours();
        let a = t.elapsed();
        let t = Instant::now();
        hourly();
        let b = t.elapsed();
        println!(
            "estimate over a year of hours: Gridwatch {:.3} s, hourly one by one {:.2} s, ratio {:.4}",
            a.as_secs_f64(),
            b.as_secs_f64(),
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
    let mut g = c.benchmark_group("athena_estimate_8760_prefixes");
    g.throughput(Throughput::Elements(hours.len() as u64));
    g.sample_size(10);
    g.bench_function("months_and_days_64_at_a_time", |b| b.iter(ours));
    g.bench_function("baseline_each_hour_one_by_one", |b| b.iter(hourly));
    g.finish();
}

criterion_group!(benches, answers, listing);
criterion_main!(benches);

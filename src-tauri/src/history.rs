//! Timestream from the command line: `sql` (with Grafana's macros) and
//! `query --source timestream`, results cached for offline use.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::timestream::{self, Column, MacroContext, Value};
use gridwatch_core::{Cache, CacheReader};
use serde_json::{Value as Json, json};
use tokio::sync::watch;

use crate::cli::AwsArgs;
use crate::output::{Format, Rows};
use crate::timearg::{format_time, parse_time};

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Timestream SQL; Grafana's $__database, $__table, $__measure,
    /// $__timeFilter, $__timeFrom, $__timeTo, $__interval_ms and $__now_ms
    /// are expanded.
    pub query: String,
    /// Where the query runs (only timestream for now).
    #[arg(long, default_value = "timestream")]
    pub source: String,
    #[arg(long)]
    pub database: Option<String>,
    #[arg(long)]
    pub table: Option<String>,
    #[arg(long)]
    pub measure: Option<String>,
    /// $__timeFrom and the start of $__timeFilter.
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// The chart width $__interval_ms is computed for.
    #[arg(long, default_value_t = 1000)]
    pub pixels: u32,
    /// Stop (and cancel) the query once it has metered more bytes than this.
    #[arg(long, env = "GRIDWATCH_MAX_BYTES")]
    pub max_bytes: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The Timestream side of `gridwatch query`.
#[derive(Debug, Clone)]
pub struct TimestreamQuery {
    pub database: String,
    pub table: String,
    pub measure: String,
    pub device: Option<String>,
    pub from_us: i64,
    pub to_us: i64,
    pub bucket: std::time::Duration,
    pub max_bytes: Option<i64>,
    pub format: Format,
    pub aws: AwsArgs,
}

/// A typed value as JSON for output: times as RFC 3339, series as points.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Varchar(s) | Value::Unknown(s) => json!(s),
        Value::Double(f) if f.is_finite() => json!(f),
        Value::Double(f) => json!(f.to_string()),
        Value::Bigint(i) => json!(i),
        Value::Integer(i) => json!(i),
        Value::Boolean(b) => json!(b),
        Value::Timestamp(ns) => json!(format_ns(*ns)),
        Value::Date(d) => json!(format_time(d * 86_400_000_000)[..10]),
        Value::Time(ns) => json!(format_ns(*ns)[11..].trim_end_matches('Z')),
        Value::IntervalDayToSecond(ns) => json!(format!("{} s", *ns as f64 / 1e9)),
        Value::IntervalYearToMonth(m) => json!(format!("{} months", m)),
        Value::Array(a) | Value::Row(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::TimeSeries(points) => Json::Array(
            points
                .iter()
                .map(|(t, v)| json!({"time": format_ns(*t), "value": to_json(v)}))
                .collect(),
        ),
    }
}

fn format_ns(ns: i64) -> String {
    let us = ns.div_euclid(1000);
    let base = format_time(us - us.rem_euclid(1_000_000));
    let frac = ns.rem_euclid(1_000_000_000);
    if frac == 0 {
        base
    } else {
        format!("{}.{:09}Z", base.trim_end_matches('Z'), frac)
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs a query to its last page; the rows as JSON, and the stats.
async fn fetch(
    aws: &AwsArgs,
    sql: &str,
    max_bytes: Option<i64>,
) -> anyhow::Result<(Vec<String>, Vec<Vec<Json>>, timestream::QueryStats)> {
    let options = aws.options();
    let client = timestream::query_client(&options)
        .await
        .with_context(|| format!("cannot reach Timestream with {}", options.describe()))?;
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<Json>> = Vec::new();
    let stats = timestream::run_query(&client, sql, max_bytes, &stop, |cols: &[Column], page| {
        if names.is_empty() {
            names = cols.iter().map(|c| c.name.clone()).collect();
        }
        rows.extend(
            page.iter()
                .map(|r| r.iter().map(to_json).collect::<Vec<_>>()),
        );
    })
    .await
    .with_context(|| format!("Timestream with {}", options.describe()))?;
    Ok((names, rows, stats))
}

fn print(names: Vec<String>, rows: Vec<Vec<Json>>, format: Format) -> anyhow::Result<()> {
    let table = Rows {
        // A few short column names for the life of the command.
        columns: names
            .into_iter()
            .map(|n| &*Box::leak(n.into_boxed_str()))
            .collect(),
        rows,
    };
    let mut out = std::io::stdout().lock();
    table.write(format, &mut out)?;
    out.flush()?;
    Ok(())
}

pub fn sql(args: SqlArgs) -> anyhow::Result<()> {
    if args.source != "timestream" {
        bail!("--source {:?}: only timestream runs SQL", args.source);
    }
    let now = gridwatch_core::time::now_us();
    let from_us = parse_time(&args.from, now).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to_us = parse_time(&args.to, now).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let ctx = MacroContext {
        database: args.database.clone(),
        table: args.table.clone(),
        measure: args.measure.clone(),
        from_us,
        to_us,
        pixels: args.pixels,
        now_us: now,
    };
    let sql = timestream::expand_macros(&args.query, &ctx).map_err(anyhow::Error::msg)?;
    tracing::info!(%sql, "running");
    let (names, rows, stats) = runtime()?.block_on(fetch(&args.aws, &sql, args.max_bytes))?;
    print(names, rows, args.format)?;
    eprintln!(
        "{} rows in {} pages; {} bytes scanned, {} bytes metered",
        stats.rows, stats.pages, stats.bytes_scanned, stats.bytes_metered
    );
    Ok(())
}

/// `gridwatch query --source timestream`: bucketed on the server, every page
/// fetched, kept in the cache; offline, the cached result is shown and said
/// to be cached.
pub fn query(q: TimestreamQuery, cache: &Path) -> anyhow::Result<()> {
    let sql = timestream::bucket_query(
        &q.database,
        &q.table,
        &q.measure,
        q.device.as_deref(),
        q.from_us,
        q.to_us,
        q.bucket,
    );
    let fetched = runtime()?.block_on(fetch(&q.aws, &sql, q.max_bytes));
    match fetched {
        Ok((names, rows, stats)) => {
            let stored = json!({"columns": names, "rows": rows}).to_string();
            match Cache::open(cache) {
                Ok(c) => c.store_history(&sql, gridwatch_core::time::now_us(), &stored)?,
                Err(e) => tracing::warn!(error = %e, "the result was not cached"),
            }
            print(names, rows, q.format)?;
            eprintln!(
                "{} buckets from Timestream; {} bytes scanned, {} bytes metered",
                stats.rows, stats.bytes_scanned, stats.bytes_metered
            );
            Ok(())
        }
        Err(e) => {
            let cached = CacheReader::open(cache)
                .ok()
                .and_then(|r| r.history(&sql).ok().flatten());
            let Some((fetched_us, stored)) = cached else {
                return Err(e);
            };
            let v: Json = serde_json::from_str(&stored)?;
            let names = v["columns"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let rows = v["rows"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r.as_array().cloned()).collect())
                .unwrap_or_default();
            eprintln!(
                "Timestream is unreachable ({e:#}); showing the CACHED result fetched at {}",
                format_time(fetched_us)
            );
            print(names, rows, q.format)
        }
    }
}

//! Timestream from the command line: `sql` (with Grafana's macros) and
//! `query --source timestream`, results cached for offline use.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::timestream::{self, MacroContext};
use serde_json::Value as Json;
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs a query to its end (Ctrl-C cancels it), through the cache.
async fn fetch(
    aws: &AwsArgs,
    sql: &str,
    max_bytes: Option<i64>,
    cache: &Path,
) -> anyhow::Result<timestream::Fetched> {
    let options = aws.options();
    let (stop_tx, stop) = watch::channel(false);
    crate::signals::stop_on_signal(stop_tx);
    timestream::fetch_with_cache(&options, sql, max_bytes, &stop, cache)
        .await
        .with_context(|| format!("Timestream with {}", options.describe()))
}

fn print(names: Vec<String>, rows: Vec<Vec<Json>>, format: Format) -> anyhow::Result<()> {
    let table = Rows {
        columns: names,
        rows,
    };
    let mut out = crate::output::stdout(format)?;
    table.write(format, &mut out)?;
    out.flush()?;
    Ok(())
}

pub fn sql(args: SqlArgs, cache: &Path) -> anyhow::Result<()> {
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
    let fetched = runtime()?.block_on(fetch(&args.aws, &sql, args.max_bytes, cache))?;
    report(&fetched);
    print(fetched.columns, fetched.rows, args.format)
}

fn report(f: &timestream::Fetched) {
    if !f.problems.is_empty() {
        eprintln!("some values could not be read; they are shown as null:");
        for p in &f.problems {
            eprintln!("  {p}");
        }
    }
    match f.cached_at_us {
        Some(at) => eprintln!(
            "Timestream is unreachable; showing the CACHED result fetched at {}",
            format_time(at)
        ),
        None => eprintln!(
            "{} rows in {} pages; {} bytes scanned, {} bytes metered",
            f.stats.rows, f.stats.pages, f.stats.bytes_scanned, f.stats.bytes_metered
        ),
    }
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
    let fetched = runtime()?.block_on(fetch(&q.aws, &sql, q.max_bytes, cache))?;
    report(&fetched);
    print(fetched.columns, fetched.rows, q.format)
}

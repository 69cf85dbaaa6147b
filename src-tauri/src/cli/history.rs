//! Timestream from the command line: `sql` (with Grafana's macros) and
//! `query --source timestream`, results cached for offline use.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::grafana::{self, MacroContext};
use gridwatch_core::timestream;
use gridwatch_lake::Rows;
use gridwatch_types::time::format_time;
use tokio::sync::watch;

use super::args::{AwsArgs, QueryArgs, flag_time};
use super::fleet_run::runtime;
use super::output::{Format, print_rows};

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Timestream SQL; the Grafana Timestream plugin's macros ($__database,
    /// $__table, $__measure, $__timeFilter, $__timeFrom, $__timeTo,
    /// $__interval, $__interval_ms, $__interval_raw_ms, $__now_ms,
    /// $__refId) and template variables ($name, ${name:format}, [[name]])
    /// are expanded as Grafana would.
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
    /// The chart width $__interval is computed for, as Grafana does.
    #[arg(long, default_value_t = 1000)]
    pub pixels: u32,
    /// The panel's "Min interval" (e.g. 10s): $__interval is never shorter.
    #[arg(long)]
    pub min_interval: Option<String>,
    /// A template variable: NAME=VALUE, repeatable; a comma list
    /// (NAME=a,b) is a multi-value variable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Print the expanded SQL and run nothing.
    #[arg(long)]
    pub explain: bool,
    /// Stop (and cancel) the query once it has metered more bytes than this.
    #[arg(long, env = "GRIDWATCH_MAX_BYTES")]
    pub max_bytes: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs a query to its end (Ctrl-C cancels it), through the cache, says
/// how it went on standard error and prints its rows.
pub(crate) fn fetch_and_print(
    aws: &AwsArgs,
    sql: &str,
    max_bytes: Option<i64>,
    cache: &Path,
    format: Format,
) -> anyhow::Result<()> {
    let options = aws.options();
    let fetched = runtime()?.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        timestream::fetch_with_cache(&options, sql, max_bytes, &stop, cache)
            .await
            .with_context(|| format!("Timestream with {}", options.describe()))
    })?;
    if !fetched.problems.is_empty() {
        eprintln!("some values could not be read; they are shown as null:");
        for p in &fetched.problems {
            eprintln!("  {p}");
        }
    }
    match fetched.cached_at_us {
        Some(at) => eprintln!(
            "Timestream is unreachable; showing the CACHED result fetched at {}",
            format_time(at)
        ),
        None => eprintln!(
            "{} rows in {} pages; {} bytes scanned, {} bytes metered",
            fetched.stats.rows,
            fetched.stats.pages,
            fetched.stats.bytes_scanned,
            fetched.stats.bytes_metered
        ),
    }
    let rows = Rows {
        columns: fetched.columns,
        rows: fetched.rows,
    };
    print_rows(&rows, format)
}

pub fn sql(args: SqlArgs, cache: &Path) -> anyhow::Result<()> {
    if args.source != "timestream" {
        bail!("--source {:?}: only timestream runs SQL", args.source);
    }
    let now = gridwatch_core::time::now_us();
    let from_us = flag_time("--from", &args.from, now)?;
    let to_us = flag_time("--to", &args.to, now)?;
    let ctx = MacroContext {
        database: args.database.clone(),
        table: args.table.clone(),
        measure: args.measure.clone(),
        from_us,
        to_us,
        pixels: args.pixels,
        now_us: now,
        min_interval_ms: args
            .min_interval
            .as_deref()
            .map(grafana::parse_interval_ms)
            .transpose()
            .context("--min-interval")?,
        ref_id: None,
    };
    let vars = args
        .vars
        .iter()
        .map(|v| grafana::parse_var(v))
        .collect::<Result<Vec<_>, _>>()?;
    let sql = grafana::expand(&args.query, &ctx, &vars)?;
    if args.explain {
        println!("{sql}");
        return Ok(());
    }
    tracing::info!(%sql, "running");
    fetch_and_print(&args.aws, &sql, args.max_bytes, cache, args.format)
}

/// `gridwatch query --source timestream`: bucketed on the server, every page
/// fetched, kept in the cache; offline, the cached result is shown and said
/// to be cached.
pub fn query(args: QueryArgs, cache: &Path) -> anyhow::Result<()> {
    let (from_us, to_us, _) = args.span()?;
    let database = args.database.as_deref().context("--database is needed")?;
    let table = args.table.as_deref().context("--table is needed")?;
    // Timestream keeps the wire's measure names.
    let measure = if args
        .measure
        .ends_with(gridwatch_core::codec::MEASURE_SUFFIX)
    {
        args.measure.clone()
    } else {
        format!("{}{}", args.measure, gridwatch_core::codec::MEASURE_SUFFIX)
    };
    let sql = timestream::bucket_query(
        database,
        table,
        &measure,
        args.device.as_deref(),
        from_us,
        to_us,
        args.bucket,
    );
    fetch_and_print(&args.aws, &sql, args.max_bytes, cache, args.format)
}

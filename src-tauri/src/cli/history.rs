//! Timestream and InfluxDB from the command line: `sql` (with Grafana's
//! macros) and `query --source timestream|influxdb`, results cached for
//! offline use.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::grafana::{self, MacroContext};
use gridwatch_core::influx::{self, influxql};
use gridwatch_core::timestream;
use gridwatch_lake::Rows;
use gridwatch_types::time::format_time;
use tokio::sync::watch;

use super::args::{AwsArgs, InfluxArgs, QueryArgs, flag_time};
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
    /// Where the query runs: timestream (SQL, the Timestream plugin's
    /// macros) or influxdb (InfluxQL, Grafana's InfluxDB macros: $timeFilter,
    /// $__interval, $interval, $__interval_ms, $__from, $__to).
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
    #[command(flatten)]
    pub influx: InfluxArgs,
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
    let influx = match args.source.as_str() {
        "timestream" => false,
        "influxdb" => true,
        other => bail!("--source {other:?}: timestream (SQL) or influxdb (InfluxQL)"),
    };
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
    let sql = if influx {
        influxql::expand_influxql(&args.query, &ctx, &vars)?
    } else {
        grafana::expand(&args.query, &ctx, &vars)?
    };
    if args.explain {
        println!("{sql}");
        return Ok(());
    }
    tracing::info!(%sql, "running");
    if influx {
        let connection = args.influx.connection(&args.aws)?;
        return influx_fetch_and_print(&connection, &sql, cache, args.format, None);
    }
    fetch_and_print(&args.aws, &sql, args.max_bytes, cache, args.format)
}

/// Runs InfluxQL to its end (Ctrl-C cancels it), through the cache, says
/// how it went on standard error and prints its rows; `time_column`
/// renames the `time` column.
fn influx_fetch_and_print(
    connection: &gridwatch_types::InfluxConnection,
    q: &str,
    cache: &Path,
    format: Format,
    time_column: Option<&str>,
) -> anyhow::Result<()> {
    let mut fetched = runtime()?
        .block_on(async {
            let (stop_tx, stop) = watch::channel(false);
            crate::signals::stop_on_signal(stop_tx);
            let client = influx::InfluxClient::connect(connection).await?;
            influx::fetch_with_cache(&client, q, &stop, cache).await
        })
        .with_context(|| {
            format!(
                "InfluxDB at {} database {}",
                connection.url, connection.database
            )
        })?;
    match fetched.cached_at_us {
        Some(at) => eprintln!(
            "InfluxDB is unreachable; showing the CACHED result fetched at {}",
            format_time(at)
        ),
        None => eprintln!("{} rows from InfluxDB", fetched.rows.len()),
    }
    if let Some(name) = time_column {
        for c in &mut fetched.columns {
            if c == "time" {
                *c = name.to_owned();
            }
        }
    }
    print_rows(
        &Rows {
            columns: fetched.columns,
            rows: fetched.rows,
        },
        format,
    )
}

/// `gridwatch query --source influxdb`: the same buckets as the cache and
/// Timestream give, aggregated by InfluxDB, kept in the cache; offline, the
/// cached result is shown and said to be cached.
pub fn influx_query(args: QueryArgs, cache: &Path) -> anyhow::Result<()> {
    let (from_us, to_us, _) = args.span()?;
    let connection = args.influx.connection(&args.aws)?;
    let field = wire_measure(&args.measure);
    let q = influxql::bucket_query(
        &connection.measurement,
        &field,
        &connection.device_tag,
        args.device.as_deref(),
        from_us,
        to_us,
        args.bucket,
    );
    tracing::info!(%q, "running");
    influx_fetch_and_print(&connection, &q, cache, args.format, Some("bucket"))
}

/// A measure as the wire (and so Timestream and InfluxDB) names it: with
/// its `_measure` suffix.
fn wire_measure(measure: &str) -> String {
    if measure.ends_with(gridwatch_core::codec::MEASURE_SUFFIX) {
        measure.to_owned()
    } else {
        format!("{measure}{}", gridwatch_core::codec::MEASURE_SUFFIX)
    }
}

/// `gridwatch query --source timestream`: bucketed on the server, every page
/// fetched, kept in the cache; offline, the cached result is shown and said
/// to be cached.
pub fn query(args: QueryArgs, cache: &Path) -> anyhow::Result<()> {
    let (from_us, to_us, _) = args.span()?;
    let database = args.database.as_deref().context("--database is needed")?;
    let table = args.table.as_deref().context("--table is needed")?;
    // Timestream keeps the wire's measure names.
    let measure = wire_measure(&args.measure);
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

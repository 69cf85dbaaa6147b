//! The lake commands: aggregate, and `lake` sync, compact, Athena DDL, sql.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gridwatch_lake::{AggregateRequest, GroupKey, OutputFormat, Rows, ViewOptions, for_people};
use serde_json::json;

use super::args::{AwsArgs, default_lake_dir, range};
use super::athena::AthenaTarget;
use super::fleet_run::runtime;
use super::output::{Format, print_rows};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AggregateFormat {
    Table,
    Csv,
    Json,
    /// Parquet, written to --out.
    Parquet,
}

/// Where a lake question runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Engine {
    /// The lake folder on this machine.
    #[default]
    Local,
    /// Athena, over the lake's Glue table (`lake athena-setup`).
    Athena,
}

#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// The lake folder (extracts under readings/json or readings/parquet).
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,
    /// Start of the range (RFC 3339, -30d, epoch ms).
    #[arg(long, default_value = "-30d", allow_hyphen_values = true)]
    pub from: String,
    /// End of the range, exclusive.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Group by, comma separated: device, region, feeder, type, any other
    /// dimension, hour, day, week, month. Nothing: the whole range.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Keep rows whose dimension has this value, e.g. --where region=north
    /// (repeatable; all must hold).
    #[arg(long = "where", value_name = "DIMENSION=VALUE")]
    pub filters: Vec<String>,
    /// Only the N groups that used the most energy (top consumers).
    #[arg(long)]
    pub top: Option<usize>,
    /// Count, sum, min, max, mean and exact p50/p90/p95/p99 of this measure
    /// (`watt` or `watt_measure`; repeatable, or comma separated) instead
    /// of the energy figures.
    #[arg(long = "measure", value_name = "MEASURE", value_delimiter = ',')]
    pub measures: Vec<String>,
    /// List the measures and dimensions the extracts of the range hold.
    #[arg(long)]
    pub list: bool,
    /// Fold every device type into one figure. By default each device type
    /// is its own group: a feeder's energy is never added to its meters',
    /// and 11 kV readings never reach a 230 V percentile.
    #[arg(long)]
    pub all_types: bool,
    /// Energy integrated from power (devices with no energy counter): power
    /// readings further apart than this count no energy.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub max_gap: String,
    /// Print the load duration curve (each 15-minute demand, largest first)
    /// instead of the summary figures.
    #[arg(long)]
    pub load_duration: bool,
    #[arg(long, value_enum, default_value_t = AggregateFormat::Table)]
    pub format: AggregateFormat,
    /// The output file, for --format parquet.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Memory the readings may take, in MiB, before they move to a hidden
    /// folder in the lake (default: a quarter of the memory available).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_mb: Option<u64>,
    /// Run the view here (the lake folder) or on Athena.
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    #[command(flatten)]
    pub athena: AthenaTarget,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Turn whole days of JSON extracts into Parquet (read many times faster).
    Compact(CompactArgs),
    /// Print the Athena CREATE EXTERNAL TABLE, with partition projection, for
    /// the same extracts in S3.
    AthenaDdl(AthenaArgs),
    /// Make the Glue database and the lake's Athena table (the DDL above,
    /// with partition projection), or check the one that is there.
    AthenaSetup(super::athena::SetupArgs),
    /// Download the extracts in a time range from S3 (what Firehose wrote)
    /// into the lake folder; files already here are skipped.
    Sync(SyncArgs),
    /// SQL over the readings of a range through polars, as one table
    /// `readings` with the seed's Athena columns: `Time` (epoch ms),
    /// `DeviceID`, every dimension and measure as records name them
    /// (`Region`, `watt_measure`), and `time` as a timestamp.
    Sql(SqlArgs),
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT Region, max(watt_measure) FROM readings GROUP BY Region".
    pub sql: String,
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,
    /// Start of the range: only its partitions are read.
    #[arg(long, default_value = "-30d", allow_hyphen_values = true)]
    pub from: String,
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// table, csv, json, or parquet (to standard output: redirect it).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Memory the JSON extracts may take decoded before they are staged on
    /// disk for the query, in MiB (default: a quarter of what is available).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_mb: Option<u64>,
    /// Run the SQL here (polars over the lake folder) or on Athena (its
    /// dialect; `$__timeFilter` and `$__table` for the range and table).
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    #[command(flatten)]
    pub athena: AthenaTarget,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[arg(long)]
    pub bucket: String,
    /// The prefix Firehose writes under (before readings/json/...).
    #[arg(long, default_value = "")]
    pub prefix: String,
    #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
    pub from: String,
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// The local lake folder.
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub from: String,
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Keep the JSON of compacted days (the views read the Parquet).
    #[arg(long)]
    pub keep_json: bool,
}

#[derive(Debug, Args)]
pub struct AthenaArgs {
    #[arg(long)]
    pub bucket: String,
    #[arg(long, default_value = "")]
    pub prefix: String,
    #[arg(long, default_value = "gridwatch_readings")]
    pub table: String,
}

pub fn run(command: LakeCommand, cache: &std::path::Path) -> anyhow::Result<()> {
    match command {
        LakeCommand::Sync(args) => sync(args),
        LakeCommand::Compact(args) => compact(args),
        LakeCommand::Sql(args) => sql(args, cache),
        LakeCommand::AthenaSetup(args) => super::athena::setup(args),
        LakeCommand::AthenaDdl(args) => {
            print!(
                "{}",
                gridwatch_lake::athena::ddl(&args.bucket, &args.prefix, &args.table)
            );
            Ok(())
        }
    }
}

fn report_bad_lines(bad: &[gridwatch_lake::BadLine]) {
    for b in bad.iter().take(10) {
        eprintln!(
            "skipped {}",
            gridwatch_core::codec::printable(&b.to_string())
        );
    }
    if bad.len() > 10 {
        eprintln!("... and {} more lines skipped", bad.len() - 10);
    }
}

/// Files and partition folders a job could not read at all, as warnings on
/// standard error: worded for people, or one JSON object a line when the
/// output is JSON (standard output stays the rows alone, for scripts).
fn report_skipped_files(skipped: &[gridwatch_lake::SkippedFile], as_json: bool) {
    for s in skipped {
        if as_json {
            eprintln!(
                "{}",
                json!({
                    "warning": "skipped",
                    "path": s.path.display().to_string(),
                    "reason": s.reason,
                })
            );
        } else {
            eprintln!(
                "warning: skipped {}",
                gridwatch_core::codec::printable(&s.to_string())
            );
        }
    }
}

pub fn aggregate(args: AggregateArgs, cache: &std::path::Path) -> anyhow::Result<()> {
    let (from_us, to_us) = range(&args.from, &args.to)?;
    let lake = args.lake.clone().unwrap_or_else(default_lake_dir);
    let request = request(&args, from_us, to_us)?;
    if args.engine == Engine::Athena {
        if args.list || args.format == AggregateFormat::Parquet {
            bail!(
                "--engine athena gives the views as table, csv or json; --list and parquet are the local engine's"
            );
        }
        let format = match args.format {
            AggregateFormat::Csv => Format::Csv,
            AggregateFormat::Json => Format::Json,
            _ => Format::Table,
        };
        return super::athena::aggregate(&args.athena, &request, args.load_duration, format, cache);
    }
    if !lake.join("readings").exists() {
        bail!(
            "no extracts in {}: write some with `gridwatch simulate --to lake --lake {}` or give --lake",
            lake.display(),
            lake.display()
        );
    }
    let cancel = crate::signals::cancel_flag();
    if args.list {
        return list(&lake, from_us, to_us, args.format, &cancel);
    }
    let started = Instant::now();
    let options = ViewOptions {
        load_duration: args.load_duration,
        memory_budget: args
            .memory_mb
            .map(|mib| usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)),
    };
    let view = gridwatch_lake::view_with(&lake, &request, &options, &cancel, |report| {
        report_bad_lines(&report.bad_lines);
        report_skipped_files(&report.skipped_files, args.format == AggregateFormat::Json);
    })?;
    print_view(&args, &view, started)
}

/// The view the arguments ask for.
fn request(args: &AggregateArgs, from_us: i64, to_us: i64) -> anyhow::Result<AggregateRequest> {
    let filters = args
        .filters
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .with_context(|| format!("--where {f:?}: use DIMENSION=VALUE, e.g. region=north"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let max_gap = gridwatch_types::time::parse_duration(&args.max_gap)
        .map_err(|e| anyhow::anyhow!("--max-gap: {e}"))?;
    Ok(AggregateRequest {
        from_us,
        to_us,
        by: args
            .by
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<GroupKey>())
            .collect::<Result<_, _>>()?,
        filters,
        top: args.top,
        measures: args
            .measures
            .iter()
            .filter(|m| !m.trim().is_empty())
            .cloned()
            .collect(),
        all_types: args.all_types,
        max_gap_us: Some(i64::try_from(max_gap.as_micros()).unwrap_or(i64::MAX)),
    })
}

/// The local engine's view, its notes on standard error, its rows out.
fn print_view(
    args: &AggregateArgs,
    view: &gridwatch_lake::View,
    started: Instant,
) -> anyhow::Result<()> {
    let report = &view.report;
    report_notes(&view.notes, args.format == AggregateFormat::Json);
    if view.buckets_on_disk > 0 {
        eprintln!(
            "the readings outgrew {} MiB of memory: folded from {} buckets on disk",
            view.memory_budget >> 20,
            view.buckets_on_disk
        );
    }
    tracing::info!(
        json_files = report.json_files,
        parquet_files = report.parquet_files,
        records = report.records,
        buckets_on_disk = view.buckets_on_disk,
        elapsed = ?started.elapsed(),
        "aggregated"
    );
    match args.format {
        AggregateFormat::Parquet => {
            let path = args
                .out
                .as_ref()
                .context("--format parquet writes a file: give --out PATH")?;
            gridwatch_lake::table::write_table(
                &view.table,
                path,
                gridwatch_types::TableFormat::Parquet,
            )?;
            eprintln!("{} rows -> {}", view.table.rows.len(), path.display());
        }
        f => {
            let format = match f {
                AggregateFormat::Csv => Format::Csv,
                AggregateFormat::Json => Format::Json,
                _ => Format::Table,
            };
            // Table and CSV for people: units scaled, meaningful digits;
            // JSON keeps every digit.
            print_rows(&for_people(&view.table, format.into()), format)?;
        }
    }
    Ok(())
}

/// How the figures were made, on standard error (standard output stays
/// the rows alone): worded, or one JSON object a line.
fn report_notes(notes: &[String], as_json: bool) {
    for n in notes {
        if as_json {
            eprintln!("{}", json!({ "note": n }));
        } else {
            eprintln!("note: {n}");
        }
    }
}

/// `aggregate --list`: the measures and dimensions of the range.
fn list(
    lake: &std::path::Path,
    from_us: i64,
    to_us: i64,
    format: AggregateFormat,
    cancel: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    let (catalog, report) = gridwatch_lake::aggregate::catalog(lake, from_us, to_us, cancel)?;
    report_skipped_files(&report.skipped_files, format == AggregateFormat::Json);
    let rows: Vec<Vec<serde_json::Value>> = catalog
        .measures
        .iter()
        .map(|m| vec![json!("measure"), json!(m)])
        .chain(
            catalog
                .dimensions
                .iter()
                .map(|d| vec![json!("dimension"), json!(d)]),
        )
        .collect();
    let format = match format {
        AggregateFormat::Csv => Format::Csv,
        AggregateFormat::Json => Format::Json,
        _ => Format::Table,
    };
    super::output::print(&["kind", "name"], rows, format)
}

/// `lake sql`: the query's answer on standard output.
fn sql(args: SqlArgs, cache: &std::path::Path) -> anyhow::Result<()> {
    let (from_us, to_us) = range(&args.from, &args.to)?;
    if args.engine == Engine::Athena {
        return super::athena::lake_sql(
            &args.athena,
            &args.sql,
            from_us,
            to_us,
            args.format,
            cache,
        );
    }
    let lake = args.lake.clone().unwrap_or_else(default_lake_dir);
    let request = gridwatch_lake::sql::SqlRequest {
        sql: args.sql.clone(),
        from_us,
        to_us,
        memory_budget: args
            .memory_mb
            .map_or_else(gridwatch_lake::readings::default_memory_budget, |mib| {
                usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
            }),
    };
    let cancel = crate::signals::cancel_flag();
    let mut answer = gridwatch_lake::sql::run(&lake, &request, &cancel, &|_, _| {})?;
    report_bad_lines(&answer.report.bad_lines);
    report_skipped_files(&answer.report.skipped_files, args.format == Format::Json);
    if args.format == Format::Parquet {
        // The answer's own types (timestamps stay timestamps).
        let mut out = super::output::stdout(args.format)?;
        answer.write_parquet(&mut out)?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
    let table = answer.table()?;
    let rows = match OutputFormat::from(args.format) {
        OutputFormat::Json => Rows::from(&table),
        f => for_people(&table, f),
    };
    print_rows(&rows, args.format)
}

fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let (from_us, to_us) = range(&args.from, &args.to)?;
    let lake = args.lake.clone().unwrap_or_else(default_lake_dir);
    let cancel = crate::signals::cancel_flag();
    let report = gridwatch_lake::compact::compact(
        &lake,
        from_us,
        to_us,
        gridwatch_core::time::now_us(),
        args.keep_json,
        &cancel,
    )?;
    report_bad_lines(&report.bad_lines);
    for q in &report.quarantined {
        eprintln!(
            "kept the bad lines: moved {}",
            gridwatch_core::codec::printable(&q.display().to_string())
        );
    }
    report_skipped_files(&report.skipped_files, false);
    println!(
        "{} {} days: {} records, {} bytes of JSON into {} bytes of Parquet",
        if report.cancelled {
            "stopped; compacted"
        } else {
            "compacted"
        },
        report.days,
        report.records,
        report.json_bytes,
        report.parquet_bytes
    );
    Ok(())
}

/// The sync's progress, on an indicatif bar.
struct SyncBar(indicatif::ProgressBar);

impl gridwatch_lake::sync::SyncProgress for SyncBar {
    fn planned(&self, objects: u64, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_message(format!("{objects} files to fetch"));
    }
    fn fetched(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

fn sync(args: SyncArgs) -> anyhow::Result<()> {
    let (from_us, to_us) = range(&args.from, &args.to)?;
    let dir = args.dir.clone().unwrap_or_else(default_lake_dir);
    let aws = args.aws.options();
    runtime()?.block_on(async {
        let conf = aws.load().await;
        let client = gridwatch_lake::sync::s3_client(&conf, &aws);
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{bar:30}] {msg} ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        // Ctrl-C or SIGTERM: the downloads stop between chunks, and what
        // was fetched stays, whole and in the manifest.
        let cancel = crate::signals::cancel_flag();
        let result = gridwatch_lake::sync::sync(
            &client,
            &args.bucket,
            &args.prefix,
            from_us,
            to_us,
            &dir,
            std::sync::Arc::new(SyncBar(bar.clone())),
            cancel,
        )
        .await;
        bar.finish_and_clear();
        let (report, stopped) = match result {
            Ok(report) => (report, false),
            Err(gridwatch_lake::sync::SyncError::Cancelled(report)) => (*report, true),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot sync s3://{}/{} with {}",
                    args.bucket,
                    args.prefix,
                    aws.describe()
                )));
            }
        };
        for r in &report.rejected {
            eprintln!(
                "warning: skipped s3://{}/{}: {}",
                args.bucket,
                gridwatch_core::codec::printable(&r.key),
                gridwatch_core::codec::printable(&r.reason)
            );
        }
        println!(
            "{} s3://{}/{}: {} files in range, {} downloaded ({} bytes), {} already here, {} keys skipped -> {}",
            if stopped { "stopped syncing" } else { "synced" },
            args.bucket,
            args.prefix.trim_matches('/'),
            report.listed,
            report.downloaded,
            report.bytes,
            report.skipped,
            report.rejected.len(),
            dir.display()
        );
        anyhow::Ok(())
    })
}

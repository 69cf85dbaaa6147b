//! The command line: the same jobs as the app, headless.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use gridwatch_core::CacheReader;
use gridwatch_core::cache::BucketQuery;
use gridwatch_simulator::{Pacing, RunOptions};
use gridwatch_types::FleetSpec;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::output::{Format, Rows};
use crate::timearg::{format_time, parse_duration, parse_time};
use gridwatch_simulator::Embedded;

/// Gridwatch: watch and analyse the telemetry of a utility's meters, feeders
/// and transformers.
///
/// With no command, opens the app (embedded mode: a simulated fleet on this
/// machine). With a command, runs that job headless.
#[derive(Debug, Parser)]
#[command(name = "gridwatch", version, about, long_about)]
pub struct Cli {
    /// The local cache file [default: the OS data folder, e.g.
    /// ~/.local/share/gridwatch/cache.sqlite].
    #[arg(long, global = true, env = "GRIDWATCH_CACHE", value_name = "PATH")]
    pub cache: Option<PathBuf>,

    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The lake folder the app's strategic view reads [default: the OS data
    /// folder's gridwatch/lake].
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,

    /// Open the app following this Kinesis stream instead of the embedded
    /// fleet (with --profile, --region, --endpoint-url as needed).
    #[arg(long)]
    pub stream: Option<String>,

    /// Smart meters in the app's embedded fleet at start; 0 starts none
    /// (launch one from the app's fleet launcher).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub devices: u32,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulated fleet: through the embedded pipeline into the cache
    /// (default), onto a Kinesis stream (--to kinesis) or into a lake folder
    /// (--to lake).
    Simulate(SimulateArgs),
    /// The devices in the cache, with their dimensions.
    Devices(DevicesArgs),
    /// Bucketed statistics (avg, min, max, sum, count) of one measure from
    /// the cache or Timestream, for one device or the whole fleet.
    Query(QueryArgs),
    /// Print a Kinesis stream's readings as they arrive, with each shard's lag.
    Tail(crate::stream::TailArgs),
    /// Follow every shard of a Kinesis stream into the cache, resuming from
    /// the checkpoints of the previous run.
    Ingest(crate::stream::IngestArgs),
    /// Do the seed's Flink job: a Kinesis stream into Timestream, with
    /// checkpoints and a quarantine for rejected records.
    Bridge(crate::stream::BridgeArgs),
    /// Run Timestream SQL (Grafana's macros work), every page fetched.
    Sql(crate::history::SqlArgs),
    /// Strategic figures over lake extracts: energy, peak demand, load
    /// factor, voltage quality, by any dimension and period.
    Aggregate(crate::lake::AggregateArgs),
    /// Look after the lake: sync from S3, compact, Athena DDL.
    #[command(subcommand)]
    Lake(crate::lake::LakeCommand),
    /// A self-contained HTML or PDF report over the lake: summary figures,
    /// charts, tables.
    Report(crate::report::ReportArgs),
    /// What the seed's pipeline would cost a month for a fleet, per service.
    Cost(crate::cost::CostArgs),
}

/// Where a simulated fleet's records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Destination {
    /// The in-process bus and the local cache.
    Embedded,
    /// A Kinesis data stream (--stream), real or emulated (--endpoint-url).
    Kinesis,
    /// A local lake folder (--lake), written as Firehose writes to S3.
    Lake,
}

/// How to reach AWS: the default credential chain (profiles, SSO,
/// environment), never a key on the command line.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// A profile from ~/.aws/config (default: AWS_PROFILE or "default").
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The AWS region (default: from the profile or AWS_REGION).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// An emulator or VPC endpoint, e.g. http://127.0.0.1:4567.
    #[arg(long, env = "GRIDWATCH_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> gridwatch_core::aws::AwsOptions {
        gridwatch_core::aws::AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where the records go.
    #[arg(long, value_enum, default_value_t = Destination::Embedded)]
    pub to: Destination,
    /// The Kinesis stream, with --to kinesis.
    #[arg(long, required_if_eq("to", "kinesis"))]
    pub stream: Option<String>,
    /// With --to kinesis: readings per Kinesis record (one per line), to pass
    /// 1,000 readings a second per shard. 1 sends each on its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub aggregate: u32,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// With --to lake: the lake folder [default: the OS data folder's
    /// gridwatch/lake].
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,
    /// With --to lake: gzip each extract, as Firehose can.
    #[arg(long)]
    pub gzip: bool,
    /// With --to lake: write objects back to back, as Firehose does unless a
    /// delimiter is configured.
    #[arg(long)]
    pub no_delimiter: bool,
    /// Days to simulate (the same as --duration Nd).
    #[arg(long, conflicts_with = "duration")]
    pub days: Option<u32>,
    /// Smart meters in the fleet.
    #[arg(long, default_value_t = 200)]
    pub devices: u32,
    /// Feeders in the fleet (in addition to the meters).
    #[arg(long, default_value_t = 0)]
    pub feeders: u32,
    /// Transformers in the fleet (in addition to the meters).
    #[arg(long, default_value_t = 0)]
    pub transformers: u32,
    /// Time between two readings of one device.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How much time to simulate; without it, runs until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Generate the readings without waiting for their time: fills history
    /// quickly. Needs --duration; starts at --start or `now - duration`.
    #[arg(long)]
    pub fast: bool,
    /// The first reading's time with --fast or --to lake (now, -24h, RFC 3339,
    /// epoch ms).
    #[arg(long, allow_hyphen_values = true)]
    pub start: Option<String>,
    /// Same seed, same fleet and readings.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Chance that a reading carries an anomaly (sag, swell, spike, overheat).
    #[arg(long, default_value_t = FleetSpec::DEFAULT_ANOMALY_RATE)]
    pub anomaly_rate: f64,
    /// Shards of the in-process bus.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub shards: u32,
}

/// Where `query` reads history from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistorySource {
    /// The local cache (what the embedded pipeline or `ingest` wrote).
    Cache,
    /// Amazon Timestream (--database, --table), aggregated on the server.
    Timestream,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[arg(long, value_enum, default_value_t = HistorySource::Cache)]
    pub source: HistorySource,
    /// With --source timestream: the database.
    #[arg(long, required_if_eq("source", "timestream"))]
    pub database: Option<String>,
    /// With --source timestream: the table.
    #[arg(long, required_if_eq("source", "timestream"))]
    pub table: Option<String>,
    /// With --source timestream: stop a query that meters more bytes.
    #[arg(long, env = "GRIDWATCH_MAX_BYTES")]
    pub max_bytes: Option<i64>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The measure, e.g. voltage, watt, current, energy, temperature
    /// (voltage_measure works too).
    #[arg(long)]
    pub measure: String,
    /// One device's ID; without it, every device in the fleet.
    #[arg(long)]
    pub device: Option<String>,
    /// Start of the range (now, -1h, RFC 3339, epoch ms).
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    /// End of the range, exclusive.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Bucket width, e.g. 1s, 1m, 15m, 1h.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub bucket: Duration,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Where the cache lives when no --cache is given.
pub fn default_cache_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("gridwatch")
        .join("cache.sqlite")
}

pub fn run(command: Command, cache: &Path) -> anyhow::Result<()> {
    match command {
        Command::Simulate(args) if args.to == Destination::Kinesis => {
            crate::stream::simulate_to_kinesis(args)
        }
        Command::Simulate(args) if args.to == Destination::Lake => {
            crate::lake::simulate_to_lake(args)
        }
        Command::Simulate(args) => simulate(args, cache),
        Command::Aggregate(args) => crate::lake::aggregate(args),
        Command::Sql(args) => crate::history::sql(args, cache),
        Command::Bridge(args) => crate::stream::bridge(args, cache),
        Command::Cost(args) => crate::cost::run(args),
        Command::Report(args) => crate::report::run(args),
        Command::Lake(command) => crate::lake::run(command),
        Command::Tail(args) => crate::stream::tail(args),
        Command::Ingest(args) => crate::stream::ingest(args, cache),
        Command::Query(args) => query(args, cache),
        Command::Devices(args) => devices(args, cache),
    }
}

/// The fleet, start time and run options that `simulate`'s flags describe.
pub fn fleet_plan(args: &SimulateArgs) -> anyhow::Result<(FleetSpec, i64, RunOptions)> {
    if args.devices + args.feeders + args.transformers == 0 {
        bail!("the fleet is empty: give --devices, --feeders or --transformers a number above 0");
    }
    if !(0.0..=1.0).contains(&args.anomaly_rate) {
        bail!(
            "--anomaly-rate {} is not a chance between 0 and 1",
            args.anomaly_rate
        );
    }
    if args.interval.is_zero() {
        bail!("--interval must be longer than zero");
    }
    let spec = FleetSpec {
        smart_meters: args.devices,
        feeders: args.feeders,
        transformers: args.transformers,
        interval_ms: args.interval.as_millis().max(1) as u64,
        anomaly_rate: args.anomaly_rate,
        seed: args.seed,
    };
    let now = gridwatch_core::time::now_us();
    let duration_us = match (args.duration, args.days) {
        (Some(d), _) => Some(
            i64::try_from(d.as_micros())
                .map_err(|_| anyhow::anyhow!("--duration is longer than the calendar"))?,
        ),
        (None, Some(days)) => Some(
            i64::from(days)
                .checked_mul(gridwatch_core::time::MICROS_PER_DAY)
                .ok_or_else(|| anyhow::anyhow!("--days {days} is longer than the calendar"))?,
        ),
        (None, None) => None,
    };
    // A lake is history: it ends now unless told otherwise.
    let fast = args.fast || args.to == Destination::Lake;
    if fast && duration_us.is_none() {
        bail!("--fast (and --to lake) need --duration or --days: how much history to write");
    }
    let start_us = match (&args.start, duration_us) {
        (Some(s), _) => parse_time(s, now).map_err(anyhow::Error::msg)?,
        // History that ends now starts no earlier than 1970.
        (None, Some(d)) if fast => now
            .checked_sub(d)
            .filter(|start| *start >= 0)
            .ok_or_else(|| anyhow::anyhow!("that much history would start before 1970"))?,
        _ => now,
    };
    let options = RunOptions {
        pacing: if fast {
            Pacing::AsFastAsPossible
        } else {
            Pacing::RealTime
        },
        end_us: duration_us.map(|d| start_us + d),
    };
    Ok((spec, start_us, options))
}

/// Moves `bar` with a running fleet: simulated seconds, and `noun`s sent.
pub fn fleet_progress(
    bar: &ProgressBar,
    start_us: i64,
    noun: &'static str,
) -> impl FnMut(gridwatch_simulator::RunProgress) + Send + 'static {
    let bar = bar.clone();
    move |p| {
        bar.set_position(((p.reached_us - start_us).max(0) / 1_000_000) as u64);
        bar.set_message(format!("{} {noun}", p.records));
    }
}

/// A progress bar over the simulated span, or a spinner when it is open.
pub fn fleet_bar(options: &RunOptions, start_us: i64) -> ProgressBar {
    match options.end_us {
        Some(end) => {
            let bar = ProgressBar::new(((end - start_us) / 1_000_000).max(1) as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} simulated {pos}/{len} s [{bar:30}] {msg} ({eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}

fn simulate(args: SimulateArgs, cache: &Path) -> anyhow::Result<()> {
    let (spec, start_us, options) = fleet_plan(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = Embedded::open(cache, args.shards)
            .with_context(|| format!("cannot open the cache at {}", cache.display()))?;
        let bar = fleet_bar(&options, start_us);
        engine
            .start_fleet(spec.clone(), start_us, options, fleet_progress(&bar, start_us, "records"))
            .await?;
        tokio::select! {
            r = engine.wait_fleet() => { r?; }
            _ = crate::signals::stopped() => {
                bar.println("stopping: committing what is on the bus…");
                engine.request_stop().await;
                engine.wait_fleet().await?;
            }
        }
        let summary = engine.shutdown().await?;
        bar.finish_and_clear();
        let stats = engine.live().stats();
        println!(
            "simulated {} devices: {} records, {} new readings ({} already cached, {} conflicts), {} quarantined, in {} commits -> {}",
            spec.device_count(),
            summary.records,
            summary.readings_new,
            summary.readings_repeated,
            summary.conflicts,
            summary.quarantined,
            summary.commits,
            cache.display()
        );
        tracing::debug!(?stats, "live view at the end");
        anyhow::Ok(())
    })
}

fn open_reader(cache: &Path) -> anyhow::Result<CacheReader> {
    if !cache.exists() {
        bail!(
            "no cache at {}: run `gridwatch simulate` (or the app) first, or pass --cache",
            cache.display()
        );
    }
    Ok(CacheReader::open(cache)?)
}

fn query(args: QueryArgs, cache: &Path) -> anyhow::Result<()> {
    let now = gridwatch_core::time::now_us();
    let from_us = parse_time(&args.from, now).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to_us = parse_time(&args.to, now).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if to_us <= from_us {
        bail!(
            "--to ({}) must be after --from ({})",
            format_time(to_us),
            format_time(from_us)
        );
    }
    let bucket_us = i64::try_from(args.bucket.as_micros())
        .map_err(|_| anyhow::anyhow!("--bucket is longer than the calendar"))?;
    if bucket_us <= 0 {
        bail!("--bucket must be longer than zero");
    }
    if args.source == HistorySource::Timestream {
        return crate::history::query(
            crate::history::TimestreamQuery {
                database: args.database.context("--database is needed")?,
                table: args.table.context("--table is needed")?,
                // Timestream keeps the wire's measure names.
                measure: if args
                    .measure
                    .ends_with(gridwatch_core::codec::MEASURE_SUFFIX)
                {
                    args.measure.clone()
                } else {
                    format!("{}{}", args.measure, gridwatch_core::codec::MEASURE_SUFFIX)
                },
                device: args.device.clone(),
                from_us,
                to_us,
                bucket: args.bucket,
                max_bytes: args.max_bytes,
                format: args.format,
                aws: args.aws.clone(),
            },
            cache,
        );
    }
    let reader = open_reader(cache)?;
    if let Some(device) = &args.device
        && !reader.devices()?.iter().any(|d| &d.device_id == device)
    {
        bail!(
            "no device {device:?} in {}: `gridwatch devices` lists them",
            cache.display()
        );
    }
    let measure = gridwatch_core::codec::measure_name(&args.measure);
    let measures = reader.measures()?;
    if !measures.iter().any(|m| m == measure) {
        bail!(
            "no measure {:?} in {}; known measures: {}",
            args.measure,
            cache.display(),
            measures.join(", ")
        );
    }
    let buckets = reader.buckets(&BucketQuery {
        device_id: args.device.as_deref(),
        measure,
        from_us,
        to_us,
        bucket_us,
    })?;
    let rows = Rows {
        columns: ["start", "avg", "min", "max", "sum", "count"]
            .map(String::from)
            .to_vec(),
        rows: buckets
            .iter()
            .map(|b| {
                vec![
                    json!(format_time(b.start_us)),
                    json!(b.avg),
                    json!(b.min),
                    json!(b.max),
                    json!(b.sum),
                    json!(b.count),
                ]
            })
            .collect(),
    };
    let mut out = crate::output::stdout(args.format)?;
    rows.write(args.format, &mut out)?;
    out.flush()?;
    if buckets.is_empty() {
        eprintln!(
            "no readings of {measure} between {} and {}",
            format_time(from_us),
            format_time(to_us)
        );
    }
    Ok(())
}

fn devices(args: DevicesArgs, cache: &Path) -> anyhow::Result<()> {
    let reader = open_reader(cache)?;
    let devices = reader.devices()?;
    let mut out = crate::output::stdout(args.format)?;
    if args.format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &devices)?;
        writeln!(out)?;
        return Ok(());
    }
    // The well-known dimensions get their own columns; any other ones go in
    // a last column as key=value pairs.
    let known = ["DeviceType", "Region", "Feeder"];
    let rows = Rows {
        columns: [
            "device_id",
            "type",
            "region",
            "feeder",
            "first_seen",
            "last_seen",
            "other_dimensions",
        ]
        .map(String::from)
        .to_vec(),
        rows: devices
            .iter()
            .map(|d| {
                let dim = |k: &str| json!(d.dimensions.get(k).cloned().unwrap_or_default());
                let other: Vec<String> = d
                    .dimensions
                    .iter()
                    .filter(|(k, _)| !known.contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                vec![
                    json!(d.device_id),
                    dim("DeviceType"),
                    dim("Region"),
                    dim("Feeder"),
                    json!(format_time(d.first_seen_us)),
                    json!(format_time(d.last_seen_us)),
                    json!(other.join(" ")),
                ]
            })
            .collect(),
    };
    rows.write(args.format, &mut out)?;
    Ok(())
}

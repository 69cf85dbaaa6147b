//! The command line: the same jobs as the app, headless.
//!
//! `args`, `output` and `fleet_run` are what the subcommands share (flags,
//! output formats, the runtime and the fleet driver); every other module
//! is one subcommand group, and imports only those three.

pub mod args;
pub mod athena;
pub mod cost;
pub mod devices;
pub mod fleet_run;
pub mod grafana;
pub mod history;
pub mod lake;
pub mod output;
pub mod query;
pub mod report;
pub mod simulate;
pub mod stream;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use args::{AwsArgs, HistorySource, QueryArgs, SimulateArgs};

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
    Devices(devices::DevicesArgs),
    /// Bucketed statistics (avg, min, max, sum, count) of one measure from
    /// the cache, Timestream or InfluxDB, for one device or the whole fleet.
    Query(QueryArgs),
    /// Print a Kinesis stream's readings as they arrive, with each shard's lag.
    Tail(stream::TailArgs),
    /// Follow every shard of a Kinesis stream into the cache, resuming from
    /// the checkpoints of the previous run.
    Ingest(stream::IngestArgs),
    /// Do the seed's Flink job: a Kinesis stream into Timestream (or
    /// InfluxDB, --to influxdb), with checkpoints and a quarantine for
    /// rejected records.
    Bridge(stream::BridgeArgs),
    /// Run Timestream SQL or InfluxQL (--source influxdb), Grafana's macros
    /// expanded, every page fetched.
    Sql(history::SqlArgs),
    /// Strategic figures over lake extracts: energy, peak demand, load
    /// factor, voltage quality, by any dimension and period.
    Aggregate(lake::AggregateArgs),
    /// Look after the lake: sync from S3, compact, Athena DDL.
    #[command(subcommand)]
    Lake(lake::LakeCommand),
    /// A self-contained HTML or PDF report over the lake: summary figures,
    /// charts, tables.
    Report(report::ReportArgs),
    /// What the seed's pipeline would cost a month for a fleet, per service.
    Cost(cost::CostArgs),
    /// Grafana dashboards: import an export, list, show and run them.
    #[command(subcommand)]
    Grafana(grafana::GrafanaCommand),
}

pub fn run(command: Command, cache: &Path) -> anyhow::Result<()> {
    match command {
        Command::Simulate(args) => simulate::run(args, cache),
        Command::Aggregate(args) => lake::aggregate(args, cache),
        Command::Sql(args) => history::sql(args, cache),
        Command::Bridge(args) => stream::bridge(args, cache),
        Command::Cost(args) => cost::run(args),
        Command::Report(args) => report::run(args),
        Command::Lake(command) => lake::run(command, cache),
        Command::Tail(args) => stream::tail(args),
        Command::Ingest(args) => stream::ingest(args, cache),
        Command::Query(args) if args.source == HistorySource::Timestream => {
            history::query(args, cache)
        }
        Command::Query(args) if args.source == HistorySource::Influxdb => {
            history::influx_query(args, cache)
        }
        Command::Query(args) => query::run(args, cache),
        Command::Devices(args) => devices::run(args, cache),
        Command::Grafana(command) => grafana::run(command, cache),
    }
}

//! What several subcommands share: AWS access, the fleet flags, a
//! query's range, where the cache and the lake live, and times as typed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::CacheReader;
use gridwatch_types::FleetSpec;
use gridwatch_types::time::{format_time, parse_duration, parse_time};

use super::output::Format;

/// Where the cache lives when no --cache is given.
pub fn default_cache_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("gridwatch")
        .join("cache.sqlite")
}

/// The lake folder when none is given.
pub fn default_lake_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("gridwatch")
        .join("lake")
}

/// The cache for reading; a missing one says how to make it.
pub fn open_reader(cache: &Path) -> anyhow::Result<CacheReader> {
    if !cache.exists() {
        bail!(
            "no cache at {}: run `gridwatch simulate` (or the app) first, or pass --cache",
            cache.display()
        );
    }
    Ok(CacheReader::open(cache)?)
}

/// A time flag's value (now, -1h, RFC 3339, epoch ms), errors naming the flag.
pub fn flag_time(flag: &str, value: &str, now_us: i64) -> anyhow::Result<i64> {
    parse_time(value, now_us).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// `--from` and `--to` as a range that ends after it starts.
pub fn range(from: &str, to: &str) -> anyhow::Result<(i64, i64)> {
    let now = gridwatch_core::time::now_us();
    let from_us = flag_time("--from", from, now)?;
    let to_us = flag_time("--to", to, now)?;
    if to_us <= from_us {
        bail!("--to must be after --from");
    }
    Ok((from_us, to_us))
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

/// Where an InfluxDB is (Timestream for InfluxDB, or InfluxDB 1.x/2.x/3.x)
/// and how its readings are laid out. Credentials never on the command
/// line: INFLUX_TOKEN, or INFLUX_USERNAME and INFLUX_PASSWORD, or a
/// Secrets Manager secret.
#[derive(Debug, Clone, Args)]
pub struct InfluxArgs {
    /// InfluxDB's URL, e.g. https://<instance>:8086 (8181 for 3.x).
    #[arg(long, env = "INFLUX_URL")]
    pub influx_url: Option<String>,
    /// The database (InfluxDB 1.x), or the bucket mapped to it.
    #[arg(long, env = "INFLUX_DB")]
    pub influx_db: Option<String>,
    /// The measurement holding the readings.
    #[arg(long, default_value = gridwatch_types::DEFAULT_MEASUREMENT)]
    pub influx_measurement: String,
    /// The tag holding the device.
    #[arg(long, default_value = gridwatch_types::DEFAULT_DEVICE_TAG)]
    pub influx_device_tag: String,
    /// An AWS Secrets Manager secret (name or ARN) holding the credentials
    /// ({"username", "password"} or {"token"}), read through the default
    /// AWS credential chain (--profile, --region, --endpoint-url).
    #[arg(long)]
    pub influx_secret: Option<String>,
}

impl InfluxArgs {
    /// The connection these flags name; URL and database are needed.
    pub fn connection(&self, aws: &AwsArgs) -> anyhow::Result<gridwatch_types::InfluxConnection> {
        let url = self
            .influx_url
            .clone()
            .context("--influx-url (or INFLUX_URL) is needed for InfluxDB")?;
        let database = self
            .influx_db
            .clone()
            .context("--influx-db (or INFLUX_DB) is needed for InfluxDB")?;
        Ok(gridwatch_types::InfluxConnection {
            url,
            database,
            measurement: self.influx_measurement.clone(),
            device_tag: self.influx_device_tag.clone(),
            credentials: self.influx_secret.clone(),
            profile: aws.profile.clone(),
            region: aws.region.clone(),
            endpoint_url: aws.endpoint_url.clone(),
        })
    }
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

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where the records go.
    #[arg(long, value_enum, default_value_t = Destination::Embedded)]
    pub to: Destination,
    /// The Kinesis stream, with --to kinesis.
    #[arg(long, required_if_eq("to", "kinesis"))]
    pub stream: Option<String>,
    /// With --to kinesis: readings per Kinesis record (a KPL aggregate, as the
    /// KCL, Flink and Firehose read it), to pass 1,000 readings a second per
    /// shard. 1 sends each on its own.
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
    /// Whose records: `utility` (meters on transformers on feeders on
    /// substations) or `seed` (the seed talk's sample producer:
    /// temperature, humidity, voltage, watt; no dimensions).
    #[arg(long, default_value = "utility", value_parser = super::fleet_run::parse_shape)]
    pub shape: gridwatch_types::FleetShape,
    /// Smart meters in the fleet (the seed producer's devices with --shape
    /// seed) [default: 200; 50 with --shape seed].
    #[arg(long)]
    pub devices: Option<u32>,
    #[command(flatten)]
    pub network: super::fleet_run::NetworkArgs,
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
    #[command(flatten)]
    pub realism: super::fleet_run::RealismArgs,
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
    /// InfluxDB or Timestream for InfluxDB (--influx-url, --influx-db),
    /// aggregated on the server.
    Influxdb,
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
    #[command(flatten)]
    pub influx: InfluxArgs,
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

impl QueryArgs {
    /// The range and the bucket width in microseconds, checked the same
    /// for the cache and Timestream.
    pub fn span(&self) -> anyhow::Result<(i64, i64, i64)> {
        let now = gridwatch_core::time::now_us();
        let from_us = flag_time("--from", &self.from, now)?;
        let to_us = flag_time("--to", &self.to, now)?;
        if to_us <= from_us {
            bail!(
                "--to ({}) must be after --from ({})",
                format_time(to_us),
                format_time(from_us)
            );
        }
        let bucket_us = i64::try_from(self.bucket.as_micros())
            .ok()
            .context("--bucket is longer than the calendar")?;
        if bucket_us <= 0 {
            bail!("--bucket must be longer than zero");
        }
        Ok((from_us, to_us, bucket_us))
    }
}

//! The Kinesis commands: tail a stream, ingest it, bridge it to Timestream.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_core::Cache;
use gridwatch_core::ingest::ShardBatch;
use gridwatch_core::kinesis::{self, ConsumerConfig, Follower, ShardBoard, StartAt};
use gridwatch_session::stream_source as source_name;
use gridwatch_types::time::{format_time, parse_time};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::args::{AwsArgs, InfluxArgs};
use super::fleet_run::runtime;
use super::output::Format;

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The Kinesis stream.
    #[arg(long)]
    pub stream: String,
    /// Where to start: latest, trim-horizon, or a time (-15m, RFC 3339, epoch ms).
    #[arg(long, default_value = "latest", allow_hyphen_values = true)]
    pub from: String,
    /// Exit once every shard has been read to its tip.
    #[arg(long)]
    pub until_caught_up: bool,
    /// table: one line per record; json: one JSON object per line.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What `bridge` writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BridgeTarget {
    Timestream,
    Influxdb,
}

#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// The Kinesis stream to read.
    #[arg(long)]
    pub stream: String,
    /// Where to write: Timestream (--database, --table) or InfluxDB, for
    /// Timestream for InfluxDB (--influx-url, --influx-db).
    #[arg(long, value_enum, default_value_t = BridgeTarget::Timestream)]
    pub to: BridgeTarget,
    /// The Timestream database to write to.
    #[arg(long, required_if_eq("to", "timestream"))]
    pub database: Option<String>,
    /// The Timestream table to write to.
    #[arg(long, required_if_eq("to", "timestream"))]
    pub table: Option<String>,
    #[command(flatten)]
    pub influx: InfluxArgs,
    /// One multi-measure record per reading instead of one per measure.
    #[arg(long)]
    pub multi_measure: bool,
    /// Start over there, ignoring the checkpoints: trim-horizon, latest, or
    /// a time (-15m, RFC 3339, epoch ms). Without it, each shard resumes
    /// after its checkpoint, and one without starts at trim-horizon.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Exit once every shard has been read to its tip (for scripts).
    #[arg(long)]
    pub until_caught_up: bool,
    /// Timestream's endpoint, when it differs from --endpoint-url's (two
    /// emulators, say).
    #[arg(long)]
    pub timestream_endpoint_url: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The Kinesis stream.
    #[arg(long)]
    pub stream: String,
    /// Start over there, ignoring the checkpoints: trim-horizon, latest, or
    /// a time (-15m, RFC 3339, epoch ms). Without it, each shard resumes
    /// after its checkpoint, and one without starts at trim-horizon.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Exit once every shard has been read to its tip (for scripts).
    #[arg(long)]
    pub until_caught_up: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--from`: the keywords in any case, else a time as `parse_time` reads
/// it, from the text as typed (RFC 3339's `T` and `Z` are upper case).
fn start_at(s: &str) -> anyhow::Result<StartAt> {
    let t = s.trim();
    let is = |k: &str| t.eq_ignore_ascii_case(k);
    if is("latest") {
        return Ok(StartAt::Latest);
    }
    if is("trim-horizon") || is("trim_horizon") || is("earliest") {
        return Ok(StartAt::TrimHorizon);
    }
    let now = gridwatch_core::time::now_us();
    let at = parse_time(t, now)
        .map_err(|e| anyhow::anyhow!("--from: {e}; or use latest or trim-horizon"))?;
    // Kinesis refuses a start after its own clock.
    if at > now {
        bail!(
            "--from {t}: {} is in the future; use latest to read what comes from now on",
            format_time(at)
        );
    }
    Ok(StartAt::Timestamp(at))
}

/// Where `ingest` and `bridge` start: `--from`, which starts over there,
/// or each shard's checkpoint (trim-horizon without one).
fn resume_or_start_over(from: Option<&str>) -> anyhow::Result<(StartAt, bool)> {
    match from {
        Some(f) => Ok((start_at(f)?, true)),
        None => Ok((StartAt::TrimHorizon, false)),
    }
}

/// A Kinesis error as the CLI says it: a refused checkpoint names the way
/// out.
fn kinesis_failure(e: kinesis::KinesisError) -> anyhow::Error {
    let hint = matches!(e, kinesis::KinesisError::StaleCheckpoint { .. });
    let e = anyhow::Error::new(e);
    if hint {
        e.context(
            "the stored checkpoint cannot be resumed; to start over, run again with \
             --from trim-horizon (or latest, or a time)",
        )
    } else {
        e
    }
}

/// The checkpoint source of `stream`: its identity (ARN, creation time,
/// endpoint), under `prefix`.
async fn checkpoint_source(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    aws: &gridwatch_core::aws::AwsOptions,
    prefix: &str,
) -> anyhow::Result<String> {
    let identity = kinesis::stream_identity(client, stream, aws.endpoint_url.as_deref())
        .await
        .with_context(|| format!("cannot describe {stream:?} with {}", aws.describe()))?;
    Ok(format!("{prefix}{identity}"))
}

/// Checkpoints an earlier Gridwatch filed under the stream's bare name
/// carry over to its identity, unless the run starts over (`--from`), in
/// which case it says that stored checkpoints are set aside.
fn adopt_legacy(
    cache: &mut Cache,
    legacy: &str,
    source: &str,
    start_over: bool,
) -> anyhow::Result<()> {
    if start_over {
        let mut held = 0;
        for s in [legacy, source] {
            held += cache
                .checkpoints(s)
                .context("cannot read the stored checkpoints")?
                .len();
        }
        if held > 0 {
            eprintln!(
                "--from given: starting over there; the {held} stored shard checkpoints are set aside"
            );
        }
        return Ok(());
    }
    cache
        .adopt_checkpoints(legacy, source)
        .context("cannot take over the checkpoints of an earlier Gridwatch")?;
    Ok(())
}

fn lag_line(board: &ShardBoard) -> String {
    let b = board.lock().unwrap_or_else(|e| e.into_inner());
    b.values()
        .map(|s| {
            format!(
                "{} {:?}: {} records, {} ms behind{}{}",
                s.shard_id,
                s.state,
                s.records,
                s.millis_behind.map_or("?".into(), |m| m.to_string()),
                if s.throttled > 0 {
                    format!(", throttled {}x", s.throttled)
                } else {
                    String::new()
                },
                if s.quarantined > 0 {
                    format!(", {} quarantined", s.quarantined)
                } else {
                    String::new()
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn tail(args: TailArgs) -> anyhow::Result<()> {
    let start = start_at(&args.from)?;
    let aws = args.aws.options();
    let format = args.format;
    if matches!(format, Format::Csv | Format::Parquet) {
        bail!("tail prints table or json (one object per line)");
    }
    runtime()?.block_on(async {
        let conf = aws.load().await;
        let client = aws_sdk_kinesis::Client::new(&conf);
        let mut config = ConsumerConfig::new(&args.stream, start);
        config.until_caught_up = args.until_caught_up;
        let board: ShardBoard = Arc::default();
        let (tx, mut rx) = mpsc::channel::<ShardBatch>(16);
        let (stop_tx, stop) = watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        let consumer = tokio::spawn(kinesis::consume(
            client,
            config,
            HashMap::new(),
            tx,
            board.clone(),
            stop,
        ));
        let mut lag_tick = tokio::time::interval(Duration::from_secs(5));
        lag_tick.tick().await;
        let mut out = std::io::stdout().lock();
        loop {
            tokio::select! {
                batch = rx.recv() => {
                    let Some(batch) = batch else { break };
                    print_batch(&mut out, &batch, format)?;
                }
                _ = lag_tick.tick() => {
                    eprintln!("lag: {}", lag_line(&board));
                }
            }
        }
        consumer
            .await
            .context("the consumer task failed")?
            .map_err(kinesis_failure)
            .with_context(|| format!("cannot read {:?} with {}", args.stream, aws.describe()))?;
        anyhow::Ok(())
    })
}

fn print_batch(out: &mut impl Write, batch: &ShardBatch, format: Format) -> anyhow::Result<()> {
    for r in &batch.records {
        match format {
            Format::Json => {
                let measures: serde_json::Map<String, serde_json::Value> = r
                    .measures
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                let dims: serde_json::Map<String, serde_json::Value> = r
                    .dimensions
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                serde_json::to_writer(
                    &mut *out,
                    &json!({
                        "time": format_time(r.time_us),
                        "time_us": r.time_us,
                        "device_id": r.device_id,
                        "shard": batch.shard,
                        "measures": measures,
                        "dimensions": dims,
                    }),
                )?;
                writeln!(out)?;
            }
            _ => {
                let measures: Vec<String> =
                    r.measures.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(
                    out,
                    "{}  {}  {}  {}",
                    format_time(r.time_us),
                    batch.shard,
                    r.device_id,
                    measures.join(" ")
                )?;
            }
        }
    }
    for q in &batch.quarantined {
        eprintln!(
            "quarantined {} #{}: {}",
            batch.shard,
            q.sequence.as_deref().unwrap_or("?"),
            q.reason
        );
    }
    out.flush()?;
    Ok(())
}

/// A cache failure that stopped a run, its cause (disk full, locked, I/O)
/// said first.
fn cache_failure(e: gridwatch_core::CacheError) -> anyhow::Error {
    let cause = format!(
        "ingest stopped: {}",
        gridwatch_core::ingest::failure_cause(&e)
    );
    anyhow::Error::new(e).context(cause)
}

/// The cache and a Kinesis client, as `ingest` and `bridge` both start.
async fn cache_and_kinesis(
    cache_path: &Path,
    aws: &gridwatch_core::aws::AwsOptions,
) -> anyhow::Result<(Cache, aws_sdk_kinesis::Client)> {
    let cache = Cache::open(cache_path).map_err(|e| {
        let cause = gridwatch_core::ingest::failure_cause(&e);
        anyhow::Error::new(e).context(format!(
            "cannot open the cache at {}: {cause}",
            cache_path.display()
        ))
    })?;
    let conf = aws.load().await;
    Ok((cache, aws_sdk_kinesis::Client::new(&conf)))
}

pub fn ingest(args: IngestArgs, cache_path: &Path) -> anyhow::Result<()> {
    let (start, start_over) = resume_or_start_over(args.from.as_deref())?;
    let aws = args.aws.options();
    runtime()?.block_on(async {
        let (mut cache, client) = cache_and_kinesis(cache_path, &aws).await?;
        let source = source_name(&checkpoint_source(&client, &args.stream, &aws, "").await?);
        adopt_legacy(&mut cache, &source_name(&args.stream), &source, start_over)?;
        let mut config = ConsumerConfig::new(&args.stream, start);
        config.until_caught_up = args.until_caught_up;
        config.ignore_checkpoints = start_over;
        let follower = Follower::start(client, config, cache, source)?;
        crate::signals::stop_on_signal(follower.stopper());
        let bar = indicatif::ProgressBar::new_spinner();
        let progress = {
            let bar = bar.clone();
            let live = follower.live.clone();
            let board = follower.board.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                loop {
                    tick.tick().await;
                    let s = live.stats();
                    let shards = board.lock().map(|b| b.len()).unwrap_or(0);
                    bar.set_message(format!(
                        "{} records, {} new readings, {} quarantined, {shards} shards",
                        s.records_ingested, s.readings_ingested, s.records_quarantined
                    ));
                    bar.tick();
                }
            })
        };
        let board = follower.board.clone();
        let (consumed, summary) = follower.finish().await;
        progress.abort();
        bar.finish_and_clear();
        // A failed writer is the cause; the consumer then only stopped for
        // want of it.
        let summary = summary.map_err(cache_failure)?;
        consumed
            .map_err(kinesis_failure)
            .with_context(|| format!("cannot read {:?} with {}", args.stream, aws.describe()))?;
        println!(
            "ingested {} records from {}: {} new readings ({} already cached, {} conflicts), {} quarantined, in {} commits -> {}",
            summary.records,
            args.stream,
            summary.readings_new,
            summary.readings_repeated,
            summary.conflicts,
            summary.quarantined,
            summary.commits,
            cache_path.display()
        );
        eprintln!("shards: {}", lag_line(&board));
        anyhow::Ok(())
    })
}

pub fn bridge(args: BridgeArgs, cache_path: &Path) -> anyhow::Result<()> {
    use gridwatch_core::bridge::{BridgeError, Sink};
    let (start, start_over) = resume_or_start_over(args.from.as_deref())?;
    let aws = args.aws.options();
    let target = match args.to {
        BridgeTarget::Influxdb => gridwatch_types::BridgeTarget::Influx {
            connection: args.influx.connection(&args.aws)?,
        },
        BridgeTarget::Timestream => gridwatch_types::BridgeTarget::Timestream {
            connection: gridwatch_types::TimestreamConnection {
                // clap requires both with --to timestream.
                database: args.database.clone().unwrap_or_default(),
                table: args.table.clone().unwrap_or_default(),
                profile: aws.profile.clone(),
                region: aws.region.clone(),
                endpoint_url: args
                    .timestream_endpoint_url
                    .clone()
                    .or_else(|| aws.endpoint_url.clone()),
            },
            multi_measure: args.multi_measure,
        },
    };
    let (unit, target_name) = (target.unit(), target.describe());
    runtime()?.block_on(async {
        let (mut cache, kinesis) = cache_and_kinesis(cache_path, &aws).await?;
        let sink = Sink::connect(&target).await?;
        let target = target_name;
        let prefix = gridwatch_core::bridge::CHECKPOINT_PREFIX;
        let source = checkpoint_source(&kinesis, &args.stream, &aws, prefix).await?;
        adopt_legacy(&mut cache, &format!("{prefix}{}", args.stream), &source, start_over)?;
        let mut consumer = ConsumerConfig::new(&args.stream, start);
        consumer.until_caught_up = args.until_caught_up;
        consumer.ignore_checkpoints = start_over;
        let (stop_tx, stop) = watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        let progress = gridwatch_core::bridge::Progress::default();
        let summary =
            gridwatch_core::bridge::run(kinesis, sink, consumer, cache, source, stop, &progress)
                .await
            .map_err(|e| match e {
                BridgeError::Cache(e) => cache_failure(e),
                BridgeError::Kinesis(e) => kinesis_failure(e),
                e => anyhow::Error::new(e),
            })
            .with_context(|| format!("bridging {} to {target} with {}", args.stream, aws.describe()))?;
        println!(
            "bridged {} readings from {} to {target}: {} {unit} written in {} calls ({} retried), {} rejected, {} quarantined",
            summary.readings,
            args.stream,
            summary.written,
            summary.writes,
            summary.retries,
            summary.rejected,
            summary.quarantined
        );
        anyhow::Ok(())
    })
}

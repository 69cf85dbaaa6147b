//! The stream-to-time-series bridge: what the seed's Flink job does
//! (JsonToTimestreamPayloadFn, OffsetFutureTimestreamPoints, TimestreamSink),
//! for users without Flink, into Timestream or InfluxDB (Timestream for
//! InfluxDB, where AWS sends new customers).
//!
//! Records are decoded (points more than 15 minutes ahead take their arrival
//! time), written in batches (at most 100 Timestream records; 5,000 lines
//! of InfluxDB line protocol), throttling and server errors retried with
//! backoff, rejected records quarantined with the server's reason. A
//! shard's checkpoint is stored after its batch is acknowledged: at least
//! once, which is safe because Timestream accepts an identical duplicate
//! and InfluxDB overwrites a point of the same series and time.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_timestreamwrite::Client;
use aws_sdk_timestreamwrite::operation::write_records::WriteRecordsError;
use aws_sdk_timestreamwrite::types::{
    Dimension, MeasureValue, MeasureValueType, Record as TsRecord, TimeUnit,
};
use tokio::sync::{mpsc, watch};

use gridwatch_types::BridgeTarget;

use crate::cache::{Cache, Checkpoint, IngestBatch, Quarantined};
use crate::codec::{self, Record};
use crate::influx::client::Written;
use crate::influx::{InfluxClient, InfluxError};
use crate::ingest::ShardBatch;
use crate::kinesis::{self, ConsumerConfig, KinesisError, ShardBoard};

/// Timestream's limit per WriteRecords call.
pub const MAX_RECORDS_PER_WRITE: usize = 100;
/// Lines per InfluxDB write: InfluxData's advice for a batch.
pub const MAX_LINES_PER_WRITE: usize = 5_000;
const MAX_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub database: String,
    pub table: String,
    /// One multi-measure record per reading instead of one record per
    /// measure (the seed's layout).
    pub multi_measure: bool,
    /// The name of the multi-measure record.
    pub multi_measure_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Kinesis(#[from] KinesisError),
    #[error(transparent)]
    Cache(#[from] crate::CacheError),
    #[error("Timestream refused the write: {0}")]
    Timestream(String),
    #[error(transparent)]
    Influx(#[from] InfluxError),
}

impl Sink {
    /// The sink `target` names, connected (an InfluxDB's credentials read
    /// from the environment or its secret).
    pub async fn connect(target: &BridgeTarget) -> Result<Sink, BridgeError> {
        Ok(match target {
            BridgeTarget::Timestream {
                connection: c,
                multi_measure,
            } => Sink::Timestream {
                client: write_client(&crate::aws::AwsOptions::from_form(
                    &c.profile,
                    &c.region,
                    &c.endpoint_url,
                ))
                .await?,
                config: BridgeConfig {
                    database: c.database.clone(),
                    table: c.table.clone(),
                    multi_measure: *multi_measure,
                    multi_measure_name: "readings".into(),
                },
            },
            BridgeTarget::Influx { connection: c } => Sink::Influx {
                client: InfluxClient::connect(c).await?,
                measurement: c.measurement.clone(),
                device_tag: c.device_tag.clone(),
            },
        })
    }

    /// Writes one shard batch; returns the readings the server refused,
    /// with its reason, for the quarantine.
    pub async fn write(
        &self,
        batch: &ShardBatch,
        summary: &mut BridgeSummary,
    ) -> Result<Vec<Quarantined>, BridgeError> {
        match self {
            Sink::Timestream { client, config } => {
                write_batch(client, config, batch, summary).await
            }
            Sink::Influx {
                client,
                measurement,
                device_tag,
            } => write_influx(client, measurement, device_tag, batch, summary).await,
        }
    }
}

/// Where the bridge writes.
#[derive(Debug)]
pub enum Sink {
    Timestream {
        client: Client,
        config: BridgeConfig,
    },
    Influx {
        client: InfluxClient,
        /// The measurement and the tag of the device (`readings`,
        /// `DeviceID` by default).
        measurement: String,
        device_tag: String,
    },
}

/// What a bridge's checkpoints are filed under, before the stream's
/// identity: the CLI's `bridge` and the app's bridge job share them.
pub const CHECKPOINT_PREFIX: &str = "bridge:";

/// The summary so far of a running bridge, for whoever shows its progress.
pub type Progress = Arc<std::sync::Mutex<BridgeSummary>>;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BridgeSummary {
    pub readings: u64,
    pub written: u64,
    pub rejected: u64,
    pub quarantined: u64,
    pub writes: u64,
    pub retries: u64,
}

/// The Timestream records of one reading: one per measure, or one
/// multi-measure record.
pub fn to_timestream(r: &Record, config: &BridgeConfig) -> Vec<TsRecord> {
    let mut dims = vec![
        Dimension::builder()
            .name(codec::DEVICE_KEY)
            .value(&r.device_id)
            .build(),
    ];
    dims.extend(
        r.dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(k).value(v).build()),
    );
    // Builders fail only on missing required fields, all set here.
    let dims: Vec<Dimension> = dims.into_iter().filter_map(Result::ok).collect();
    let time = r.time_us.to_string();
    if config.multi_measure {
        let values = (r.measures.iter().enumerate())
            .filter_map(|(i, (_, v))| {
                MeasureValue::builder()
                    .name(r.measure_key(i))
                    .value(v.to_string())
                    .r#type(MeasureValueType::Double)
                    .build()
                    .ok()
            })
            .collect();
        return vec![
            TsRecord::builder()
                .set_dimensions(Some(dims))
                .measure_name(&config.multi_measure_name)
                .measure_value_type(MeasureValueType::Multi)
                .set_measure_values(Some(values))
                .time(time)
                .time_unit(TimeUnit::Microseconds)
                .build(),
        ];
    }
    (r.measures.iter().enumerate())
        .map(|(i, (_, v))| {
            TsRecord::builder()
                .set_dimensions(Some(dims.clone()))
                // The seed's Flink job names the measure by its key as
                // written, suffix and all ("humidity_MEASURE" too).
                .measure_name(r.measure_key(i))
                .measure_value(v.to_string())
                .measure_value_type(MeasureValueType::Double)
                .time(time.clone())
                .time_unit(TimeUnit::Microseconds)
                .build()
        })
        .collect()
}

/// Writes one shard batch; returns the readings Timestream rejected, with
/// the reason, for the quarantine.
async fn write_batch(
    client: &Client,
    config: &BridgeConfig,
    batch: &ShardBatch,
    summary: &mut BridgeSummary,
) -> Result<Vec<Quarantined>, BridgeError> {
    // Each Timestream record remembers which reading it came from.
    let mut items: Vec<(usize, TsRecord)> = Vec::new();
    for (i, r) in batch.records.iter().enumerate() {
        items.extend(to_timestream(r, config).into_iter().map(|t| (i, t)));
    }
    let mut rejected: Vec<(usize, String)> = Vec::new();
    for chunk in items.chunks(MAX_RECORDS_PER_WRITE) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            summary.writes += 1;
            let result = client
                .write_records()
                .database_name(&config.database)
                .table_name(&config.table)
                .set_records(Some(chunk.iter().map(|(_, t)| t.clone()).collect()))
                .send()
                .await;
            match result {
                Ok(_) => {
                    summary.written += chunk.len() as u64;
                    break;
                }
                Err(e) => match e.as_service_error() {
                    Some(WriteRecordsError::RejectedRecordsException(r)) => {
                        // The others in the call were written.
                        let bad = r.rejected_records();
                        summary.written += (chunk.len() - bad.len().min(chunk.len())) as u64;
                        summary.rejected += bad.len() as u64;
                        for rr in bad {
                            let idx = rr.record_index() as usize;
                            if let Some((reading, _)) = chunk.get(idx) {
                                rejected
                                    .push((*reading, rr.reason().unwrap_or("rejected").to_owned()));
                            }
                        }
                        break;
                    }
                    Some(WriteRecordsError::ThrottlingException(_))
                    | Some(WriteRecordsError::InternalServerException(_))
                    | None
                        if attempt < MAX_ATTEMPTS =>
                    {
                        summary.retries += 1;
                        let wait = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                        tracing::warn!(attempt, ?wait, error = %crate::aws::describe_sdk_error(&e), "WriteRecords failed; retrying");
                        tokio::time::sleep(wait).await;
                    }
                    _ => {
                        return Err(BridgeError::Timestream(crate::aws::describe_sdk_error(&e)));
                    }
                },
            }
        }
    }
    Ok(quarantine(batch, rejected, "rejected_by_timestream"))
}

/// Follows the stream and writes it to Timestream until caught up (if
/// asked) or stopped. Checkpoints and quarantined records go to `cache`
/// under `source`.
pub async fn run(
    kinesis: aws_sdk_kinesis::Client,
    sink: Sink,
    consumer: ConsumerConfig,
    mut cache: Cache,
    source: String,
    stop: watch::Receiver<bool>,
    progress: &Progress,
) -> Result<BridgeSummary, BridgeError> {
    let checkpoints = cache
        .checkpoints(&source)?
        .into_iter()
        .map(|c| (c.shard, c.sequence))
        .collect();
    let board: ShardBoard = Arc::default();
    let (tx, mut rx) = mpsc::channel::<ShardBatch>(8);
    let consumer = tokio::spawn(kinesis::consume(
        kinesis,
        consumer,
        checkpoints,
        tx,
        board,
        stop,
    ));
    let mut summary = BridgeSummary::default();
    while let Some(batch) = rx.recv().await {
        summary.readings += batch.records.len() as u64;
        let mut quarantined = batch.quarantined.clone();
        quarantined.extend(sink.write(&batch, &mut summary).await?);
        summary.quarantined += quarantined.len() as u64;
        let checkpoints: Vec<Checkpoint> = batch
            .checkpoint
            .iter()
            .map(|seq| Checkpoint {
                shard: batch.shard.clone(),
                sequence: seq.clone(),
            })
            .collect();
        cache.ingest(&IngestBatch {
            source: &source,
            records: &[],
            quarantined: &quarantined,
            checkpoints: &checkpoints,
        })?;
        // A poisoned lock only means a reader panicked: the figures stand.
        *progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = summary;
    }
    match consumer.await {
        Ok(r) => r?,
        Err(e) => {
            return Err(BridgeError::Timestream(format!(
                "the consumer task failed: {e}"
            )));
        }
    }
    Ok(summary)
}

/// A Timestream write client: endpoint discovery against AWS, none against
/// an endpoint URL.
/// Writes one shard batch to InfluxDB; returns the readings it refused,
/// with its reason, for the quarantine. A refused batch is written again
/// line by line to find the lines at fault (the others are simply written
/// again: the same point twice is one point).
async fn write_influx(
    client: &InfluxClient,
    measurement: &str,
    device_tag: &str,
    batch: &ShardBatch,
    summary: &mut BridgeSummary,
) -> Result<Vec<Quarantined>, BridgeError> {
    // Every line into one buffer, each line's end kept: a write is a
    // slice of it, with no copy.
    let mut body = String::with_capacity(batch.records.len() * 160);
    let mut ends = Vec::with_capacity(batch.records.len());
    for r in &batch.records {
        crate::influx::line::write_point(&mut body, measurement, device_tag, r);
        ends.push(body.len());
    }
    let start = |i: usize| if i == 0 { 0 } else { ends[i - 1] };
    let mut rejected: Vec<(usize, String)> = Vec::new();
    for first in (0..ends.len()).step_by(MAX_LINES_PER_WRITE) {
        let last = (first + MAX_LINES_PER_WRITE).min(ends.len());
        let (outcome, retries) = client.write(&body[start(first)..ends[last - 1]]).await?;
        summary.writes += 1;
        summary.retries += u64::from(retries);
        if outcome == Written::All {
            summary.written += (last - first) as u64;
            continue;
        }
        for i in first..last {
            let (outcome, retries) = client.write(&body[start(i)..ends[i]]).await?;
            summary.writes += 1;
            summary.retries += u64::from(retries);
            match outcome {
                Written::All => summary.written += 1,
                Written::Refused(reason) => {
                    summary.rejected += 1;
                    rejected.push((i, reason));
                }
            }
        }
    }
    Ok(quarantine(batch, rejected, "rejected_by_influxdb"))
}

/// The quarantine rows of the readings of `batch` at `rejected`.
fn quarantine(
    batch: &ShardBatch,
    mut rejected: Vec<(usize, String)>,
    code: &str,
) -> Vec<Quarantined> {
    rejected.sort();
    rejected.dedup_by_key(|(i, _)| *i);
    rejected
        .into_iter()
        .filter_map(|(i, reason)| {
            let r = batch.records.get(i)?;
            let mut raw = Vec::new();
            codec::encode(r, &mut raw);
            Some(Quarantined {
                shard: Some(batch.shard.clone()),
                sequence: batch.checkpoint.clone(),
                received_us: r.time_us,
                reason_code: code.into(),
                reason,
                raw,
            })
        })
        .collect()
}

pub async fn write_client(options: &crate::aws::AwsOptions) -> Result<Client, BridgeError> {
    crate::aws::timestream_client!(Client, options)
        .await
        .map_err(BridgeError::Timestream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> Record {
        Record {
            device_id: "m1".into(),
            time_us: 1_700_000_000_123_456,
            time_adjusted: false,
            measure_keys: Vec::new(),
            measures: vec![("voltage".into(), 231.5), ("watt".into(), 800.0)],
            dimensions: vec![("Region".into(), "north".into())],
        }
    }

    fn config(multi: bool) -> BridgeConfig {
        BridgeConfig {
            database: "db".into(),
            table: "t".into(),
            multi_measure: multi,
            multi_measure_name: "readings".into(),
        }
    }

    #[test]
    fn single_measure_records_as_the_seed_writes_them() {
        let recs = to_timestream(&reading(), &config(false));
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].measure_name(), Some("voltage_measure"));
        assert_eq!(recs[0].measure_value(), Some("231.5"));
        assert_eq!(recs[0].time(), Some("1700000000123456"));
        assert_eq!(recs[0].time_unit(), Some(&TimeUnit::Microseconds));
        let dims: Vec<(&str, &str)> = recs[0]
            .dimensions()
            .iter()
            .map(|d| (d.name(), d.value()))
            .collect();
        assert_eq!(dims, vec![("DeviceID", "m1"), ("Region", "north")]);
    }

    /// The seed's Flink job names a measure by its key as written, suffix
    /// included in whatever case; a record read by its rules (suffix and
    /// time keys in any case, `TimeUnit`) reaches Timestream under those
    /// names and with its time to the microsecond.
    #[test]
    fn the_seed_jobs_rules_reach_timestream() {
        let wire = br#"{"time": 1700000000, "TimeUnit": "SECONDS", "DeviceID": "d1",
            "temperature_measure": 12.5, "humidity_MEASURE": 60, "voltage_measure": 48.5,
            "watt_Measure": 301}"#;
        let r = codec::decode(wire, 1_800_000_000_000_000).unwrap();
        let recs = to_timestream(&r, &config(false));
        let names: Vec<&str> = recs.iter().filter_map(|t| t.measure_name()).collect();
        assert_eq!(
            names,
            [
                "temperature_measure",
                "humidity_MEASURE",
                "voltage_measure",
                "watt_Measure"
            ]
        );
        assert!(recs.iter().all(|t| t.time() == Some("1700000000000000")));
        let dims: Vec<&str> = recs[0].dimensions().iter().map(|d| d.name()).collect();
        assert_eq!(dims, ["DeviceID"], "TimeUnit is not a dimension");
    }

    #[test]
    fn multi_measure_records_carry_every_measure() {
        let recs = to_timestream(&reading(), &config(true));
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].measure_value_type(), Some(&MeasureValueType::Multi));
        let names: Vec<&str> = recs[0].measure_values().iter().map(|m| m.name()).collect();
        assert_eq!(names, vec!["voltage_measure", "watt_measure"]);
    }
}

//! The Kinesis sink: a fleet's records onto a real (or emulated) stream.
//!
//! PutRecords in batches of at most 500 records and 5 MiB, partition key =
//! DeviceID. Only the entries that failed are sent again (the seed's Python
//! producer checked the HTTP status alone, so throttled records vanished),
//! with exponential backoff and jitter. Sending is paced to the stream's
//! limits: 1,000 records and 1 MiB a second per open shard.
//!
//! With aggregation, several readings travel in one Kinesis record, to pass
//! 1,000 readings a second per shard: a KPL aggregate (`codec::kpl`), which
//! the KCL, Flink's consumer, Firehose and Gridwatch de-aggregate, each
//! reading with its own device ID as its partition key. As the KPL does,
//! aggregates are built per destination shard and sent with that shard's
//! starting hash key as their explicit hash key, so every reading lands on
//! the shard its own device ID routes to, in order. An aggregate stays
//! within Kinesis's 1 MiB record (data and partition key), and the pacing
//! counts it as the one record (and its bytes) Kinesis counts.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use gridwatch_core::aws::describe_sdk_error;
use gridwatch_core::bus::hash_key;
use gridwatch_core::codec::kpl::Aggregator;
use gridwatch_core::kinesis::{ShardInfoPublic, list_shards};
use tokio::time::Instant;

use crate::run::{RecordSink, SinkError};

pub const MAX_RECORDS_PER_PUT: usize = 500;
pub const MAX_BYTES_PER_PUT: usize = 5 * 1024 * 1024;
/// Kinesis's per-record limit, data and partition key together.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
const RECORDS_PER_SHARD_S: f64 = 1_000.0;
const BYTES_PER_SHARD_S: f64 = 1024.0 * 1024.0;
/// A batch that keeps failing is given up after this many tries.
const MAX_ATTEMPTS: u32 = 30;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProducerStats {
    /// Kinesis records accepted.
    pub records_put: u64,
    /// Readings inside them (more than records when aggregating).
    pub readings_put: u64,
    /// Entries sent again after a per-entry failure.
    pub entries_retried: u64,
    /// PutRecords calls or entries refused for throughput.
    pub throttled: u64,
    pub calls: u64,
}

struct Entry {
    key: String,
    explicit_hash_key: Option<String>,
    data: Vec<u8>,
    readings: u64,
}

impl Entry {
    fn size(&self) -> usize {
        self.data.len() + self.key.len()
    }
}

/// The aggregate being built for one shard; its Kinesis record takes the
/// first reading's partition key, as the KPL's do.
#[derive(Default)]
struct Aggregate {
    key: String,
    records: Aggregator,
}

/// Paces calls to what the stream's shards accept.
struct Pacer {
    records_per_s: f64,
    bytes_per_s: f64,
    start: Instant,
    records: f64,
    bytes: f64,
}

impl Pacer {
    fn new(open_shards: usize) -> Self {
        let n = open_shards.max(1) as f64;
        Pacer {
            records_per_s: n * RECORDS_PER_SHARD_S,
            bytes_per_s: n * BYTES_PER_SHARD_S,
            start: Instant::now(),
            records: 0.0,
            bytes: 0.0,
        }
    }

    /// Waits until sending `records` and `bytes` more keeps the average
    /// since the start within the stream's limits.
    async fn admit(&mut self, records: usize, bytes: usize) {
        self.records += records as f64;
        self.bytes += bytes as f64;
        let due = (self.records / self.records_per_s).max(self.bytes / self.bytes_per_s);
        let at = self.start + Duration::from_secs_f64(due);
        // Never bank more than a second of idle time as burst.
        let now = Instant::now();
        if now > at + Duration::from_secs(1) {
            self.start = now - Duration::from_secs(1);
            self.records = self.records_per_s;
            self.bytes = self.bytes_per_s.min(self.bytes);
        }
        tokio::time::sleep_until(at).await;
    }
}

pub struct KinesisSink {
    client: Client,
    stream: String,
    shards: Vec<ShardInfoPublic>,
    aggregate: usize,
    buffers: HashMap<usize, Aggregate>,
    pending: Vec<Entry>,
    pending_bytes: usize,
    pacer: Pacer,
    stats: ProducerStats,
    jitter: u64,
}

impl KinesisSink {
    /// Connects to `stream`; `aggregate` readings per Kinesis record (1: none).
    pub async fn connect(
        client: Client,
        stream: &str,
        aggregate: usize,
    ) -> Result<Self, SinkError> {
        let shards: Vec<ShardInfoPublic> = list_shards(&client, stream)
            .await
            .map_err(|e| SinkError::Kinesis(e.to_string()))?
            .into_iter()
            .filter(|s| !s.closed)
            .collect();
        if shards.is_empty() {
            return Err(SinkError::Kinesis(format!(
                "stream {stream:?} has no open shard"
            )));
        }
        Ok(KinesisSink {
            client,
            stream: stream.to_owned(),
            pacer: Pacer::new(shards.len()),
            shards,
            aggregate: aggregate.max(1),
            buffers: HashMap::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            stats: ProducerStats::default(),
            jitter: 0x2545_F491_4F6C_DD1D,
        })
    }

    pub fn stats(&self) -> ProducerStats {
        self.stats
    }

    pub fn open_shards(&self) -> usize {
        self.shards.len()
    }

    async fn push(&mut self, entry: Entry) -> Result<(), SinkError> {
        if self.pending.len() + 1 > MAX_RECORDS_PER_PUT
            || self.pending_bytes + entry.size() > MAX_BYTES_PER_PUT
        {
            self.send_pending().await?;
        }
        self.pending_bytes += entry.size();
        self.pending.push(entry);
        Ok(())
    }

    fn backoff(&mut self, attempt: u32) -> Duration {
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let base = Duration::from_millis(100) * 2u32.pow(attempt.min(6));
        base.mul_f64(0.5 + (self.jitter % 1000) as f64 / 1000.0)
    }

    async fn send_pending(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut entries = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let bytes: usize = entries.iter().map(Entry::size).sum();
        self.pacer.admit(entries.len(), bytes).await;
        let mut attempt = 0;
        loop {
            let request: Vec<PutRecordsRequestEntry> = entries
                .iter()
                .map(|e| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(e.data.clone()))
                        .partition_key(&e.key)
                        .set_explicit_hash_key(e.explicit_hash_key.clone())
                        .build()
                })
                .collect::<Result<_, _>>()
                .map_err(|e| SinkError::Kinesis(format!("cannot build a PutRecords entry: {e}")))?;
            self.stats.calls += 1;
            let result = self
                .client
                .put_records()
                .stream_name(&self.stream)
                .set_records(Some(request))
                .send()
                .await;
            attempt += 1;
            match result {
                Ok(out) => {
                    let results = out.records();
                    let mut failed = Vec::new();
                    for (entry, r) in entries.into_iter().zip(results) {
                        match r.error_code() {
                            None => {
                                self.stats.records_put += 1;
                                self.stats.readings_put += entry.readings;
                            }
                            Some(code) => {
                                if code == "ProvisionedThroughputExceededException" {
                                    self.stats.throttled += 1;
                                }
                                failed.push(entry);
                            }
                        }
                    }
                    if failed.is_empty() {
                        return Ok(());
                    }
                    tracing::debug!(
                        failed = failed.len(),
                        attempt,
                        "PutRecords: resending failed entries"
                    );
                    self.stats.entries_retried += failed.len() as u64;
                    entries = failed;
                }
                Err(e) => {
                    let message = describe_sdk_error(&e);
                    if message.contains("ProvisionedThroughputExceeded") {
                        self.stats.throttled += 1;
                    }
                    tracing::warn!(error = %message, attempt, "PutRecords failed; retrying");
                    if attempt >= MAX_ATTEMPTS {
                        return Err(SinkError::Kinesis(message));
                    }
                }
            }
            if attempt >= MAX_ATTEMPTS {
                return Err(SinkError::Kinesis(format!(
                    "{} records still failing after {MAX_ATTEMPTS} attempts",
                    entries.len()
                )));
            }
            let wait = self.backoff(attempt);
            tokio::time::sleep(wait).await;
        }
    }

    /// The aggregate being built for `shard`, as a record to send, sent
    /// with the shard's starting hash key so it lands where its readings'
    /// own device IDs route.
    fn take_aggregate(&mut self, shard: usize) -> Option<Entry> {
        let buffer = self.buffers.get_mut(&shard)?;
        if buffer.records.is_empty() {
            return None;
        }
        let readings = buffer.records.len() as u64;
        Some(Entry {
            key: std::mem::take(&mut buffer.key),
            explicit_hash_key: self.shards[shard].starting_hash_key.clone(),
            data: buffer.records.finish(),
            readings,
        })
    }

    fn shard_for(&self, key: &str) -> usize {
        let h = hash_key(key);
        self.shards.iter().position(|s| s.holds(h)).unwrap_or(0)
    }
}

impl RecordSink for KinesisSink {
    async fn send(&mut self, partition_key: &str, data: &[u8], _: i64) -> Result<(), SinkError> {
        if data.len() + partition_key.len() > MAX_RECORD_BYTES {
            return Err(SinkError::Kinesis(format!(
                "a record of {} bytes is over Kinesis's 1 MiB limit",
                data.len()
            )));
        }
        if self.aggregate <= 1 {
            return self
                .push(Entry {
                    key: partition_key.to_owned(),
                    explicit_hash_key: None,
                    data: data.to_vec(),
                    readings: 1,
                })
                .await;
        }
        let shard = self.shard_for(partition_key);
        // The Kinesis record's size is its data and its partition key: the
        // first reading's, or this one's if it starts a new aggregate.
        let fits = self.buffers.get(&shard).is_none_or(|b| {
            b.records.is_empty()
                || b.records.size_with(partition_key, None, data.len()) + b.key.len()
                    <= MAX_RECORD_BYTES
        });
        if !fits && let Some(entry) = self.take_aggregate(shard) {
            self.push(entry).await?;
        }
        let buffer = self.buffers.entry(shard).or_default();
        if buffer.records.is_empty() {
            buffer.key = partition_key.to_owned();
        }
        buffer.records.add(partition_key, None, data);
        let alone = buffer.records.size() + buffer.key.len();
        if alone > MAX_RECORD_BYTES {
            // One reading whose framing pushes it past the limit.
            self.buffers.remove(&shard);
            return Err(SinkError::Kinesis(format!(
                "a record of {} bytes is over Kinesis's 1 MiB limit once aggregated",
                data.len()
            )));
        }
        if buffer.records.len() >= self.aggregate
            && let Some(entry) = self.take_aggregate(shard)
        {
            self.push(entry).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        let mut shards: Vec<usize> = self.buffers.keys().copied().collect();
        shards.sort_unstable();
        for shard in shards {
            if let Some(entry) = self.take_aggregate(shard) {
                self.push(entry).await?;
            }
        }
        self.send_pending().await
    }
}

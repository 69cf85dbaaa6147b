//! Ingest: shard readers -> decode -> one cache writer -> live view.
//!
//! A task per shard reads and decodes; bad records are quarantined with their
//! reason and shard/sequence while the rest flows on. One writer thread owns
//! the cache (SQLite has one writer at a time anyway) and commits whatever the
//! shards have produced since its last commit as one transaction, together
//! with each shard's newest sequence number as its checkpoint. Under load the
//! commits grow, which is what keeps ingest fast; when idle they stay small,
//! which keeps the live view fresh.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bus::{BusRecord, ShardId, ShardReader};
use crate::cache::{Cache, CacheError, Checkpoint, IngestBatch, Quarantined};
use crate::codec::{self, Record};
use crate::live::LiveView;

/// The checkpoint source name of the embedded in-process bus.
pub const EMBEDDED_SOURCE: &str = "embedded";

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The source the checkpoints and quarantined records are filed under.
    pub source: String,
    /// Most records one shard read takes.
    pub read_limit: usize,
    /// Most records one transaction commits.
    pub max_records_per_commit: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            source: EMBEDDED_SOURCE.into(),
            read_limit: 1_000,
            max_records_per_commit: 10_000,
        }
    }
}

/// What an ingest run did, when it ends.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestSummary {
    pub records: u64,
    pub readings_new: u64,
    pub readings_repeated: u64,
    pub quarantined: u64,
    pub commits: u64,
}

/// One shard's decoded read.
struct ShardBatch {
    shard: ShardId,
    last_sequence: u64,
    records: Vec<Record>,
    quarantined: Vec<Quarantined>,
}

pub struct IngestHandle {
    readers: Vec<JoinHandle<()>>,
    writer: std::thread::JoinHandle<Result<IngestSummary, CacheError>>,
}

impl IngestHandle {
    /// Waits until every shard is drained (close the bus first) and the last
    /// commit is done.
    pub async fn finish(self) -> Result<IngestSummary, CacheError> {
        for task in self.readers {
            // A reader task only ends by draining its shard or by the writer
            // going away; neither is an error here, the writer reports those.
            let _ = task.await;
        }
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| CacheError::BadQuery(format!("ingest writer task failed: {e}")))?
            .unwrap_or_else(|_| Err(CacheError::BadQuery("ingest writer panicked".into())))
    }
}

/// Starts ingesting from `readers` into `cache`, telling `live` about every
/// commit. Must be called inside a tokio runtime.
pub fn spawn_ingest(
    readers: Vec<ShardReader>,
    cache: Cache,
    live: Arc<LiveView>,
    config: IngestConfig,
) -> IngestHandle {
    let (tx, rx) = mpsc::channel::<ShardBatch>(readers.len().max(1) * 4);
    let reader_tasks = readers
        .into_iter()
        .map(|reader| tokio::spawn(read_shard(reader, tx.clone(), config.read_limit)))
        .collect();
    drop(tx);
    let writer = std::thread::Builder::new()
        .name("gridwatch-cache-writer".into())
        .spawn(move || write_batches(rx, cache, &live, &config));
    let writer = match writer {
        Ok(w) => w,
        // Spawning a thread fails only when the OS is out of threads; report
        // it through the same path as any other writer failure.
        Err(e) => std::thread::spawn(move || {
            Err(CacheError::BadQuery(format!(
                "cannot start the cache writer: {e}"
            )))
        }),
    };
    IngestHandle {
        readers: reader_tasks,
        writer,
    }
}

async fn read_shard(mut reader: ShardReader, tx: mpsc::Sender<ShardBatch>, limit: usize) {
    loop {
        let read = reader.read(limit).await;
        let Some(last) = read.last() else {
            tracing::debug!(shard = %reader.shard, "shard drained");
            return;
        };
        let batch = decode_batch(reader.shard, last.sequence, read);
        if tx.send(batch).await.is_err() {
            return; // the writer stopped; it reports why
        }
    }
}

fn decode_batch(shard: ShardId, last_sequence: u64, read: Vec<BusRecord>) -> ShardBatch {
    let mut records = Vec::with_capacity(read.len());
    let mut quarantined = Vec::new();
    for r in read {
        match codec::decode(&r.data, r.arrival_us) {
            Ok(rec) => records.push(rec),
            Err(e) => {
                tracing::warn!(shard = %shard, sequence = r.sequence, reason = %e, "record quarantined");
                quarantined.push(Quarantined {
                    shard: Some(shard.name()),
                    sequence: Some(r.sequence.to_string()),
                    received_us: r.arrival_us,
                    reason_code: e.code().into(),
                    reason: e.to_string(),
                    raw: r.data,
                });
            }
        }
    }
    ShardBatch {
        shard,
        last_sequence,
        records,
        quarantined,
    }
}

fn write_batches(
    mut rx: mpsc::Receiver<ShardBatch>,
    mut cache: Cache,
    live: &LiveView,
    config: &IngestConfig,
) -> Result<IngestSummary, CacheError> {
    let mut summary = IngestSummary::default();
    let mut records = Vec::new();
    let mut quarantined = Vec::new();
    let mut checkpoints: Vec<(ShardId, u64)> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        records.clear();
        quarantined.clear();
        checkpoints.clear();
        let mut next = Some(first);
        while let Some(b) = next.take() {
            records.extend(b.records);
            quarantined.extend(b.quarantined);
            match checkpoints.iter_mut().find(|(s, _)| *s == b.shard) {
                Some(slot) => slot.1 = slot.1.max(b.last_sequence),
                None => checkpoints.push((b.shard, b.last_sequence)),
            }
            if records.len() + quarantined.len() < config.max_records_per_commit {
                next = rx.try_recv().ok();
            }
        }
        let cps: Vec<Checkpoint> = checkpoints
            .iter()
            .map(|(s, seq)| Checkpoint {
                shard: s.name(),
                sequence: seq.to_string(),
            })
            .collect();
        let outcome = cache
            .ingest(&IngestBatch {
                source: &config.source,
                records: &records,
                quarantined: &quarantined,
                checkpoints: &cps,
            })
            .inspect_err(
                |e| tracing::error!(error = %e, "ingest stopped: the cache refused a batch"),
            )?;
        live.observe(&records, quarantined.len() as u64, outcome.readings_new);
        summary.records += records.len() as u64;
        summary.readings_new += outcome.readings_new;
        summary.readings_repeated += outcome.readings_repeated;
        summary.quarantined += quarantined.len() as u64;
        summary.commits += 1;
    }
    Ok(summary)
}

/// The first sequence number of each of `shards` shards that continues after
/// the checkpoints stored for `source`, so a new bus never reuses a number the
/// cache has already seen.
pub fn resume_sequences(cache: &Cache, source: &str, shards: u32) -> Result<Vec<u64>, CacheError> {
    let stored = cache.checkpoints(source)?;
    let next_after = stored
        .iter()
        .filter_map(|c| c.sequence.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    // Every shard continues after the highest number of any shard, so the
    // numbers stay unique even if the shard count changed between runs.
    Ok(vec![next_after; shards as usize])
}

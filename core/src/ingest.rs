//! Ingest: shard readers (the in-process bus or Kinesis) -> decode -> one
//! cache writer -> live view.
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

use crate::bus::ShardReader;
use crate::cache::{Cache, CacheError, Checkpoint, IngestBatch, Quarantined};
use crate::codec::{self, Record, kpl};

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
    /// Readings that came again with another value (kept aside, see
    /// `Cache::ingest`).
    pub conflicts: u64,
    pub quarantined: u64,
    pub commits: u64,
}

/// What one shard read produced: decoded records, quarantined ones, and the
/// checkpoint to store with them.
#[derive(Debug, Default)]
pub struct ShardBatch {
    pub shard: String,
    /// The sequence number of the last record read, or [`SHARD_END`] once a
    /// closed shard has been read to its end. None: nothing to checkpoint.
    pub checkpoint: Option<String>,
    pub records: Vec<Record>,
    pub quarantined: Vec<Quarantined>,
}

/// Where a user record sat in a KPL aggregate, for the quarantine's reason.
struct InAggregate<'a> {
    index: usize,
    count: usize,
    partition_key: &'a str,
}

/// The checkpoint of a shard that was read to its end (after a split or a
/// merge); its children may be read.
pub const SHARD_END: &str = "SHARD_END";

/// The largest record a device may send, after de-aggregation. A telemetry
/// record is a few hundred bytes; anything this large is a producer bug.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

impl ShardBatch {
    pub fn new(shard: impl Into<String>) -> Self {
        ShardBatch {
            shard: shard.into(),
            ..ShardBatch::default()
        }
    }

    /// Decodes one stream record into this batch. A record is one wire
    /// record (pretty-printed or not), several, one per line, as some
    /// producers batch them, or a KPL aggregate of user records. A record
    /// that fails is quarantined whole, once, with its raw bytes; in a
    /// batch of lines where some decode, each bad line is quarantined on
    /// its own and its neighbours flow on.
    ///
    /// A KPL aggregate is read whole or not at all: one that is corrupt
    /// (its magic, its MD5, its protobuf) is quarantined whole as
    /// `bad_aggregate`; in a good one, each user record is read in order as
    /// a record of its own, and one that fails is quarantined alone, its
    /// index in the aggregate named in the reason. Every user record of an
    /// aggregate lands in this one batch, and a batch is committed in one
    /// transaction with the Kinesis sequence number of the aggregate as the
    /// checkpoint: exactly once, with no sub-sequence number to keep.
    pub fn add(&mut self, data: &[u8], arrival_us: i64, sequence: &str) {
        if !kpl::is_aggregate(data) {
            self.add_user_record(data, arrival_us, sequence, None);
            return;
        }
        match kpl::Aggregate::parse(data) {
            Ok(aggregate) => {
                let count = aggregate.records.len();
                for user in &aggregate.records {
                    let place = InAggregate {
                        index: user.index,
                        count,
                        partition_key: user.partition_key,
                    };
                    self.add_user_record(user.data, arrival_us, sequence, Some(place));
                }
            }
            Err(e) => self.quarantine(
                data,
                arrival_us,
                sequence,
                e.code(),
                format!("a KPL aggregate that cannot be read: {e}"),
            ),
        }
    }

    /// One user record: a Kinesis record of its own, or one of an aggregate
    /// (`place`), whose failures say which one it was.
    fn add_user_record(
        &mut self,
        data: &[u8],
        arrival_us: i64,
        sequence: &str,
        place: Option<InAggregate<'_>>,
    ) {
        let quarantine = |batch: &mut Self, raw: &[u8], code: &str, reason: String| {
            let reason = match &place {
                Some(p) => format!(
                    "user record {} of {} in a KPL aggregate (partition key {:?}): {reason}",
                    p.index, p.count, p.partition_key
                ),
                None => reason,
            };
            batch.quarantine(raw, arrival_us, sequence, code, reason);
        };
        if data.iter().all(u8::is_ascii_whitespace) {
            quarantine(self, data, "empty", "the record is empty".into());
            return;
        }
        let whole = match self.decode_one(data, arrival_us) {
            Ok(rec) => {
                self.records.push(rec);
                return;
            }
            Err(e) => e,
        };
        // One JSON value that failed is one bad record: only text that is
        // not one JSON value (or too long to be one) may be several
        // records, one per line.
        let lines: Vec<&[u8]> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        // An aggregate whose magic was damaged is not JSON either; its
        // digest still tells what it was.
        if place.is_none() && whole.0 == "not_json" && kpl::has_damaged_magic(data) {
            let reason = format!(
                "a KPL aggregate that cannot be read: {}, though it ends in the MD5 of its body",
                kpl::AggregateError::BadMagic
            );
            quarantine(self, data, kpl::BAD_AGGREGATE, reason);
            return;
        }
        if !matches!(whole.0, "not_json" | "oversized") || lines.len() < 2 {
            quarantine(self, data, whole.0, whole.1);
            return;
        }
        let decoded: Vec<Result<Record, (&'static str, String)>> = lines
            .iter()
            .map(|line| self.decode_one(line, arrival_us))
            .collect();
        if decoded.iter().all(Result::is_err) {
            // Kept whole, once. Lines that were JSON but broke a rule say
            // more than the whole's "trailing characters": their reason.
            let (code, reason) = decoded
                .into_iter()
                .filter_map(Result::err)
                .find(|(code, _)| *code != "not_json")
                .map_or(whole, |(code, reason)| {
                    (
                        code,
                        format!(
                            "{} records, one a line, none readable; the first: {reason}",
                            lines.len()
                        ),
                    )
                });
            quarantine(self, data, code, reason);
            return;
        }
        for (line, result) in lines.into_iter().zip(decoded) {
            match result {
                Ok(rec) => self.records.push(rec),
                Err((code, reason)) => quarantine(self, line, code, reason),
            }
        }
    }

    /// One wire record, or why not (a reason code and a message).
    fn decode_one(&self, data: &[u8], arrival_us: i64) -> Result<Record, (&'static str, String)> {
        if data.len() > MAX_RECORD_BYTES {
            return Err((
                "oversized",
                format!(
                    "the record is {} bytes, more than the {} a reading may have",
                    data.len(),
                    MAX_RECORD_BYTES
                ),
            ));
        }
        codec::decode(data, arrival_us).map_err(|e| (e.code(), e.to_string()))
    }

    fn quarantine(
        &mut self,
        raw: &[u8],
        arrival_us: i64,
        sequence: &str,
        code: &str,
        reason: String,
    ) {
        tracing::warn!(shard = %self.shard, sequence, reason = %reason, "record quarantined");
        self.quarantined.push(Quarantined {
            shard: Some(self.shard.clone()),
            sequence: Some(sequence.to_owned()),
            received_us: arrival_us,
            reason_code: code.to_owned(),
            reason,
            raw: raw.to_vec(),
        });
    }
}

/// The cache writer: one thread that owns the cache and commits shard
/// batches, each commit with the checkpoints of the shards it covers.
pub struct Writer {
    thread: std::thread::JoinHandle<Result<IngestSummary, CacheError>>,
    failure: WriterFailure,
}

/// Why the cache writer stopped, once it has: readable while it is still
/// being waited for, so a follower can show it at once.
pub type WriterFailure = Arc<std::sync::OnceLock<String>>;

/// The cause of a cache failure in the operator's words, first: a full
/// disk, a lock held by another process, an I/O error. SQLite's own message
/// and the cache's path follow in the error itself.
pub fn failure_cause(e: &CacheError) -> &'static str {
    use rusqlite::ErrorCode;
    let CacheError::Sqlite { source, .. } = e else {
        return "the cache failed";
    };
    match source.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => "the disk holding the cache is full",
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the cache is locked by another process (another Gridwatch, or a SQLite tool with a transaction open)"
        }
        Some(ErrorCode::SystemIoFailure) => "an I/O error on the cache",
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => "the cache cannot be written",
        Some(ErrorCode::CannotOpen) => "the cache cannot be opened",
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => "the cache is damaged",
        _ => "the cache refused a write",
    }
}

/// A cache failure as one line: the cause, then the error with its path.
pub fn describe_failure(e: &CacheError) -> String {
    format!("ingest stopped: {}: {e}", failure_cause(e))
}

impl Writer {
    /// Why the writer stopped, if it failed.
    pub fn failure(&self) -> WriterFailure {
        self.failure.clone()
    }

    /// Waits until every sender is dropped and the last commit is done.
    pub async fn finish(self) -> Result<IngestSummary, CacheError> {
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|e| CacheError::BadQuery(format!("ingest writer task failed: {e}")))?
            .unwrap_or_else(|_| Err(CacheError::BadQuery("ingest writer panicked".into())))
    }
}

/// Starts the cache writer. Send it [`ShardBatch`]es; batches of one shard
/// must be sent in read order (one sender task per shard does that).
pub fn spawn_writer(
    cache: Cache,
    live: Arc<LiveView>,
    config: IngestConfig,
) -> (mpsc::Sender<ShardBatch>, Writer) {
    let (tx, rx) = mpsc::channel::<ShardBatch>(64);
    let failure = WriterFailure::default();
    let noted = failure.clone();
    let thread = std::thread::Builder::new()
        .name("gridwatch-cache-writer".into())
        .spawn(move || {
            let mut rx = rx;
            let result = write_batches(&mut rx, cache, &live, &config);
            if let Err(e) = &result {
                let _ = noted.set(describe_failure(e));
            }
            // Closed only now: whoever sees it closed finds the failure set.
            drop(rx);
            result
        });
    let thread = match thread {
        Ok(t) => t,
        // Spawning a thread fails only when the OS is out of threads; report
        // it through the same path as any other writer failure.
        Err(e) => {
            let e = CacheError::BadQuery(format!("cannot start the cache writer: {e}"));
            let _ = failure.set(describe_failure(&e));
            std::thread::spawn(move || Err(e))
        }
    };
    (tx, Writer { thread, failure })
}

pub struct IngestHandle {
    readers: Vec<JoinHandle<()>>,
    writer: Writer,
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
        self.writer.finish().await
    }
}

/// Starts ingesting from the in-process bus's `readers` into `cache`,
/// telling `live` about every commit. Must be called inside a tokio runtime.
pub fn spawn_ingest(
    readers: Vec<ShardReader>,
    cache: Cache,
    live: Arc<LiveView>,
    config: IngestConfig,
) -> IngestHandle {
    let read_limit = config.read_limit;
    let (tx, writer) = spawn_writer(cache, live, config);
    let readers = readers
        .into_iter()
        .map(|reader| tokio::spawn(read_shard(reader, tx.clone(), read_limit)))
        .collect();
    IngestHandle { readers, writer }
}

async fn read_shard(mut reader: ShardReader, tx: mpsc::Sender<ShardBatch>, limit: usize) {
    let name = reader.shard.name();
    loop {
        // A reader waiting on a quiet shard must still stop when the writer
        // has failed: its records could no longer be committed.
        let read = tokio::select! {
            read = reader.read(limit) => read,
            () = tx.closed() => return,
        };
        let Some(last) = read.last() else {
            tracing::debug!(shard = %name, "shard drained");
            return;
        };
        let mut batch = ShardBatch::new(name.clone());
        batch.checkpoint = Some(last.sequence.to_string());
        for r in &read {
            batch.add(&r.data, r.arrival_us, &r.sequence.to_string());
        }
        if tx.send(batch).await.is_err() {
            return; // the writer stopped; it reports why
        }
    }
}

fn write_batches(
    rx: &mut mpsc::Receiver<ShardBatch>,
    mut cache: Cache,
    live: &LiveView,
    config: &IngestConfig,
) -> Result<IngestSummary, CacheError> {
    let mut summary = IngestSummary::default();
    let mut records = Vec::new();
    let mut quarantined = Vec::new();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        records.clear();
        quarantined.clear();
        checkpoints.clear();
        let mut next = Some(first);
        while let Some(b) = next.take() {
            records.extend(b.records);
            quarantined.extend(b.quarantined);
            if let Some(sequence) = b.checkpoint {
                // Batches of one shard arrive in read order: the last wins.
                match checkpoints.iter_mut().find(|c| c.shard == b.shard) {
                    Some(slot) => slot.sequence = sequence,
                    None => checkpoints.push(Checkpoint {
                        shard: b.shard,
                        sequence,
                    }),
                }
            }
            if records.len() + quarantined.len() < config.max_records_per_commit {
                next = rx.try_recv().ok();
            }
        }
        let outcome = cache
            .ingest(&IngestBatch {
                source: &config.source,
                records: &records,
                quarantined: &quarantined,
                checkpoints: &checkpoints,
            })
            .inspect_err(
                |e| tracing::error!(error = %e, "ingest stopped: the cache refused a batch"),
            )?;
        live.observe(&records, quarantined.len() as u64, outcome.readings_new);
        live.observe_conflicts(outcome.conflicts);
        summary.records += records.len() as u64;
        summary.readings_new += outcome.readings_new;
        summary.readings_repeated += outcome.readings_repeated;
        summary.conflicts += outcome.conflicts;
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

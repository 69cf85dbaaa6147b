//! Following a Kinesis data stream: every shard, in order, losing nothing.
//!
//! The places where Kinesis consumers usually fail their users, and what this
//! one does:
//! - iterators expire after 5 minutes: take a new one after the last
//!   sequence number seen;
//! - shards split and merge: a child is read only once every parent has been
//!   read to its end, so each device's readings stay in order;
//! - 5 GetRecords calls a second per shard: at most that, and back off on
//!   ProvisionedThroughputExceeded (counted, shown in the shard panel);
//! - the network or the service goes away: retry with backoff, forever,
//!   until stopped; but an answer that retrying cannot change (the stream
//!   is gone, access is denied, a checkpoint or a start time Kinesis
//!   refuses) ends the run at once, saying which;
//! - a start at LATEST or at a time carries over to the children of a
//!   reshard, so `--from latest` after a split shows no old records;
//! - checkpoints belong to one stream's identity (ARN, creation time,
//!   endpoint), so a stream made again under the same name starts afresh.
//!
//! Batches go to an `mpsc` channel as [`ShardBatch`]es carrying the shard's
//! checkpoint; the cache writer commits both in one transaction.

//! The parts: `consume` (which shard is read when), `reader` (one shard),
//! `retry` (what a failure means, and backoff), `shards` (listing and the
//! stream's identity), `follower` (consumer, writer and live view together).
//! Here: the configuration, the error and the shard board they share.
//!
//! [`ShardBatch`]: crate::ingest::ShardBatch

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridwatch_types::ShardStatus;

/// Where to start reading a shard that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Latest,
    TrimHorizon,
    /// Epoch microseconds.
    Timestamp(i64),
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub stream: String,
    pub start: StartAt,
    /// Stop once every shard has been read to its tip.
    pub until_caught_up: bool,
    /// Records asked for per GetRecords call (Kinesis allows 10,000).
    pub records_per_call: i32,
    /// Pause after an empty read at the tip.
    pub idle_poll: Duration,
    /// How often shards are listed again, to find children and new shards.
    pub relist_every: Duration,
    /// Start every shard at `start`, ignoring stored checkpoints (which
    /// are then overwritten as it reads): starting over.
    pub ignore_checkpoints: bool,
}

impl ConsumerConfig {
    pub fn new(stream: impl Into<String>, start: StartAt) -> Self {
        ConsumerConfig {
            stream: stream.into(),
            start,
            until_caught_up: false,
            records_per_call: 10_000,
            idle_poll: Duration::from_millis(500),
            relist_every: Duration::from_secs(10),
            ignore_checkpoints: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    #[error("stream {stream:?} not found ({detail})")]
    StreamNotFound { stream: String, detail: String },
    #[error("access to stream {stream:?} denied: {detail}")]
    AccessDenied { stream: String, detail: String },
    /// A stored checkpoint that Kinesis refuses: the stream was deleted and
    /// made again, or the checkpoint came from elsewhere.
    #[error(
        "the checkpoint of {shard} (after sequence number {sequence}) is not valid in stream {stream:?}: {detail}"
    )]
    StaleCheckpoint {
        stream: String,
        shard: String,
        sequence: String,
        detail: String,
    },
    /// The start time asked for is refused (one in the future, say).
    #[error("Kinesis refused to start reading {shard} of {stream:?} at {at}: {detail}")]
    StartRefused {
        stream: String,
        shard: String,
        at: String,
        detail: String,
    },
    /// A refusal that retrying cannot change.
    #[error("Kinesis refused, and retrying cannot change that: {0}")]
    Invalid(String),
    /// A refusal that may pass (the network, the service's own trouble).
    #[error("Kinesis refused: {0}")]
    Refused(String),
    /// Whoever took the records stopped taking them (for ingest, the cache
    /// writer failed; its error says why).
    #[error("stopped reading: the records could no longer be delivered")]
    OutputClosed,
}

/// The shard panel's data, shared with whoever shows it.
pub type ShardBoard = Arc<Mutex<BTreeMap<String, ShardStatus>>>;

fn update(board: &ShardBoard, shard: &str, f: impl FnOnce(&mut ShardStatus)) {
    // A poisoned board only means a display went stale; keep consuming.
    let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = b.get_mut(shard) {
        f(s);
    }
}

mod consume;
mod follower;
mod reader;
mod retry;
mod shards;

pub use consume::consume;
pub use follower::Follower;
pub use shards::{ShardInfoPublic, list_shards, stream_identity};

#[cfg(test)]
mod tests;

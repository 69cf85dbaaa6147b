//! One shard read in order until it ends or the consumer stops: iterators
//! taken and taken again (on expiry; a held LATEST one kept), GetRecords
//! paced to what Kinesis allows, each batch sent with its checkpoint.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use tokio::sync::{mpsc, watch};

use super::retry::{Backoff, Failure, classify};
use super::{ConsumerConfig, KinesisError, ShardBoard, StartAt, update};
use crate::ingest::{SHARD_END, ShardBatch};

/// Kinesis allows 5 GetRecords calls a second per shard.
pub(super) const MIN_CALL_GAP: Duration = Duration::from_millis(200);

/// How one shard's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShardOutcome {
    /// Closed and read to its end: children may start.
    Ended,
    /// At the tip, and the consumer was asked to stop there.
    CaughtUp,
    Stopped,
    /// The receiver of the batches went away: nothing read now could be
    /// delivered, so the whole consumer stops.
    OutputClosed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Position {
    Latest,
    TrimHorizon,
    Timestamp(i64),
    /// After the last record this run has read.
    After(String),
    /// After a checkpoint stored by an earlier run.
    Checkpoint(String),
}

impl Position {
    /// Earlier starts first: a child of two parents takes the earlier.
    pub(super) fn rank(&self) -> u8 {
        match self {
            Position::TrimHorizon | Position::After(_) | Position::Checkpoint(_) => 0,
            Position::Timestamp(_) => 1,
            Position::Latest => 2,
        }
    }
}

impl From<StartAt> for Position {
    fn from(s: StartAt) -> Self {
        match s {
            StartAt::Latest => Position::Latest,
            StartAt::TrimHorizon => Position::TrimHorizon,
            StartAt::Timestamp(t) => Position::Timestamp(t),
        }
    }
}

pub(super) struct ShardReader {
    pub(super) client: Client,
    pub(super) stream: String,
    pub(super) shard: String,
    pub(super) config: ConsumerConfig,
    pub(super) out: mpsc::Sender<ShardBatch>,
    pub(super) board: ShardBoard,
    pub(super) stop: watch::Receiver<bool>,
}

impl ShardReader {
    /// Sleeps unless stopped first; true if stopped.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => *self.stop.borrow(),
            changed = self.stop.changed() => changed.is_err() || *self.stop.borrow(),
        }
    }

    /// Waits for a request unless stopped first (None): a request hung on
    /// a dead connection must not keep a stopped consumer from ending.
    async fn unless_stopped<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let mut stop = self.stop.clone();
        tokio::select! {
            v = request => Some(v),
            // A dropped sender also means stop.
            _ = stop.wait_for(|s| *s) => None,
        }
    }

    async fn iterator(&self, position: &Position) -> Result<Option<String>, Failure> {
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(&self.shard);
        req = match position {
            Position::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            Position::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Position::Timestamp(us) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(us / 1000)),
            Position::After(seq) | Position::Checkpoint(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
        };
        let out = req.send().await.map_err(|e| {
            match (classify(&self.stream, &e), position) {
                // Say which start was refused: that is what to change.
                (Failure::Fatal(KinesisError::Invalid(detail)), Position::Checkpoint(seq)) => {
                    Failure::Fatal(KinesisError::StaleCheckpoint {
                        stream: self.stream.clone(),
                        shard: self.shard.clone(),
                        sequence: seq.clone(),
                        detail,
                    })
                }
                (Failure::Fatal(KinesisError::Invalid(detail)), Position::Timestamp(us)) => {
                    Failure::Fatal(KinesisError::StartRefused {
                        stream: self.stream.clone(),
                        shard: self.shard.clone(),
                        at: gridwatch_types::time::format_time(*us),
                        detail,
                    })
                }
                (f, _) => f,
            }
        })?;
        Ok(out.shard_iterator().map(str::to_owned))
    }

    pub(super) async fn run(mut self, start: Position) -> Result<ShardOutcome, KinesisError> {
        let mut position = start;
        let mut iterator: Option<String> = None;
        // Set while a LATEST iterator is held and nothing has been read
        // from it: when it was asked for. The tip moves, so a fresh LATEST
        // would skip whatever came meanwhile: such an iterator is kept
        // through failures, and once it is lost (expired), reading goes on
        // from the time it was taken instead.
        let mut tip_taken_at: Option<i64> = None;
        let mut backoff = Backoff::new(Duration::from_millis(250));
        let mut last_call = Instant::now() - MIN_CALL_GAP;
        let mut rate_window = (Instant::now(), 0u64);
        loop {
            if *self.stop.borrow() {
                return Ok(ShardOutcome::Stopped);
            }
            let since = last_call.elapsed();
            if since < MIN_CALL_GAP && self.pause(MIN_CALL_GAP - since).await {
                return Ok(ShardOutcome::Stopped);
            }
            last_call = Instant::now();
            let it = match &iterator {
                Some(it) => it.clone(),
                None => {
                    let asked_at = crate::time::now_us();
                    match self.unless_stopped(self.iterator(&position)).await {
                        None => return Ok(ShardOutcome::Stopped),
                        Some(Ok(Some(it))) => {
                            if position == Position::Latest {
                                tip_taken_at = Some(asked_at);
                            }
                            iterator = Some(it.clone());
                            it
                        }
                        // No iterator: the shard is closed and nothing is
                        // after the position.
                        Some(Ok(None)) => return self.end().await,
                        Some(Err(f)) => {
                            if let Some(outcome) = self.failed(f, &mut backoff).await? {
                                return Ok(outcome);
                            }
                            continue;
                        }
                    }
                }
            };
            let request = self
                .client
                .get_records()
                .shard_iterator(&it)
                .limit(self.config.records_per_call)
                .send();
            let Some(result) = self.unless_stopped(request).await else {
                return Ok(ShardOutcome::Stopped);
            };
            let out = match result {
                Ok(out) => out,
                Err(e) => {
                    let (f, lost) = match classify(&self.stream, &e) {
                        Failure::Expired => (Failure::Expired, true),
                        // An iterator Kinesis refuses: a fresh one from the
                        // position settles it (a refused position is then
                        // refused where it is asked for, and said so).
                        Failure::Fatal(KinesisError::Invalid(detail)) => {
                            (Failure::Retry(detail), true)
                        }
                        // Still valid (it would say expired otherwise).
                        Failure::Throttled => (Failure::Throttled, false),
                        // After a record, a fresh iterator from it is
                        // always valid and an old one may not be; a held
                        // LATEST one is kept, a fresh one would skip.
                        f @ Failure::Retry(_) => (f, tip_taken_at.is_none()),
                        f @ Failure::Fatal(_) => (f, true),
                    };
                    if lost {
                        iterator = None;
                        if let Some(t) = tip_taken_at.take() {
                            position = Position::Timestamp(t);
                        }
                    }
                    if matches!(f, Failure::Expired) {
                        update(&self.board, &self.shard, |s| s.expired_iterators += 1);
                        tracing::info!(shard = %self.shard, ?position, "iterator expired; taking a new one after the last record");
                        continue;
                    }
                    if let Some(outcome) = self.failed(f, &mut backoff).await? {
                        return Ok(outcome);
                    }
                    continue;
                }
            };
            backoff.reset();
            let records = out.records();
            let behind = out.millis_behind_latest();
            if let Some(last) = records.last() {
                let mut batch = ShardBatch::new(self.shard.clone());
                let now = crate::time::now_us();
                for r in records {
                    let arrival = r
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .map_or(now, |ms| ms * 1000);
                    batch.add(r.data().as_ref(), arrival, r.sequence_number());
                }
                let last_seq = last.sequence_number().to_owned();
                batch.checkpoint = Some(last_seq.clone());
                position = Position::After(last_seq);
                tip_taken_at = None;
                let n = records.len() as u64;
                let q = batch.quarantined.len() as u64;
                if self.out.send(batch).await.is_err() {
                    return Ok(ShardOutcome::OutputClosed);
                }
                rate_window.1 += n;
                let elapsed = rate_window.0.elapsed().as_secs_f64();
                update(&self.board, &self.shard, |s| {
                    s.records += n;
                    s.quarantined += q;
                    s.millis_behind = behind;
                    s.last_error = None;
                    if elapsed >= 1.0 {
                        s.records_per_s = rate_window.1 as f64 / elapsed;
                    }
                });
                if elapsed >= 1.0 {
                    rate_window = (Instant::now(), 0);
                }
            } else {
                update(&self.board, &self.shard, |s| {
                    s.millis_behind = behind;
                    s.last_error = None;
                });
            }
            match out.next_shard_iterator() {
                None => return self.end().await,
                Some(next) => iterator = Some(next.to_owned()),
            }
            if records.is_empty() && behind.unwrap_or(0) == 0 {
                if self.config.until_caught_up {
                    return Ok(ShardOutcome::CaughtUp);
                }
                if self.pause(self.config.idle_poll).await {
                    return Ok(ShardOutcome::Stopped);
                }
            }
        }
    }

    /// A closed shard read to its end: checkpoint that, so a restart never
    /// reads it again and its children may start.
    async fn end(&mut self) -> Result<ShardOutcome, KinesisError> {
        tracing::info!(shard = %self.shard, "shard read to its end");
        let mut batch = ShardBatch::new(self.shard.clone());
        batch.checkpoint = Some(SHARD_END.to_owned());
        if self.out.send(batch).await.is_err() {
            return Ok(ShardOutcome::OutputClosed);
        }
        Ok(ShardOutcome::Ended)
    }

    /// Waits out a failure; Some(outcome) ends the reader.
    async fn failed(
        &mut self,
        failure: Failure,
        backoff: &mut Backoff,
    ) -> Result<Option<ShardOutcome>, KinesisError> {
        let message = match failure {
            Failure::Throttled => {
                update(&self.board, &self.shard, |s| s.throttled += 1);
                "throttled (ProvisionedThroughputExceeded)".to_string()
            }
            Failure::Expired => "iterator expired".to_string(),
            Failure::Fatal(e) => {
                // Said once, by whoever runs the consumer, when it ends.
                update(&self.board, &self.shard, |s| {
                    s.last_error = Some(e.to_string())
                });
                return Err(e);
            }
            Failure::Retry(m) => m,
        };
        let wait = backoff.step();
        tracing::warn!(shard = %self.shard, error = %message, retry_in = ?wait, "read failed; retrying");
        update(&self.board, &self.shard, |s| s.last_error = Some(message));
        if self.pause(wait).await {
            return Ok(Some(ShardOutcome::Stopped));
        }
        Ok(None)
    }
}
